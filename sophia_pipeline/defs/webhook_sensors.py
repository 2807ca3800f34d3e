"""One sensor per webhook source: landed events -> one run per batch.

Each tick reads the events landed after the sensor's cursor, cuts them into batches
(``webhooks/batches.py``) and requests one run per batch over the source's raw asset and
everything downstream of it that shares the daily partitions, for the days the batch's
records belong to. The batch rides in the run's tags; the raw asset reads it back and
commits ``ops.webhook_cursors`` after writing.

Exactly-once requesting: a batch is named by its cursors, so a tick evaluated again (the
cursor is saved only after the runs are launched) asks for the same ``run_key`` and
Dagster creates nothing new. A tick that died after launching while more events kept
landing would cut a longer batch with a new key; the sensor first follows the runs it
already launched from its cursor, so it resumes after them instead.

Ordering: two runs over the same days would race (both rebuild a day's documents from
the raw rows they see), so a tick requests nothing while a run of this source is queued
or running. ``max_batches_per_tick`` > 1 drains a backlog faster but then relies on a
run-queue limit of one per ``sophia/webhook_source`` tag value to keep them in order.

The sensors touch only the landing store (read-only) and the run storage, never the
warehouse: a DuckDB file takes one writer process, and the runs need it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import dagster as dg
from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG as MAX_RUNTIME_TAG

from sophia_pipeline.defs.keys import INDEX_KEY, raw_key
from sophia_pipeline.defs.run_liveness import FULL_RUN_TAG, fail_dead_runs
from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.sources.registry import SPECS, SourceSpec
from sophia_pipeline.store.landing import open_landing
from sophia_pipeline.webhooks.batches import (
    SOURCE_TAG,
    WEBHOOK_SOURCES,
    EventReader,
    WebhookBatch,
    plan_batches,
)

MINIMUM_INTERVAL_S = 30
# A batch run (at most a few hundred events) that has not finished in this long is dead:
# the daemon's run monitoring fails it (then run retries re-launch it). The default run
# launcher cannot check a worker's health, so without this bound a run whose worker was
# killed stays STARTED for good and this source's sensor waits on it forever.
BATCH_RUN_MAX_RUNTIME_S = 1800
# How a RunRequest asks for one run over a partition range (a single-run backfill); the
# names are Dagster's public tag contract, spelled out to avoid its private modules.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# Runs that hold a batch's days right now. NOT_STARTED is left out: a run the daemon
# created but never submitted stays so forever and would block the source for good.
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
_LAUNCHED_LOOKBACK = 50


def sensor_name(source: str) -> str:
    return f"{source}_webhook_sensor"


def partition_tags(batch: WebhookBatch, partitions: dg.DailyPartitionsDefinition) -> dict[str, str]:
    """Dagster's single-run partition range for the batch's days, clamped to the
    partitions that exist (records outside still land in the raw layer)."""
    if batch.first_day is None or batch.last_day is None:
        raise ValueError(f"batch {batch.run_key} was planned without its days")
    first = date.fromisoformat(partitions.get_first_partition_key() or "")
    last = date.fromisoformat(partitions.get_last_partition_key() or "")

    def clamp(d: date) -> str:
        return min(max(d, first), last).isoformat()

    return {
        RANGE_START_TAG: clamp(batch.first_day),
        RANGE_END_TAG: clamp(batch.last_day),
    }


def _in_flight(instance: dg.DagsterInstance, source: str) -> list[dg.DagsterRun]:
    """Runs that hold the source's days now: its own batches and full runs (which write
    every source). Runs left started by a dead worker are failed first, or a killed run
    would block the source for good."""
    fail_dead_runs(instance)
    for tags in ({SOURCE_TAG: source}, {FULL_RUN_TAG: "true"}):
        busy = list(
            instance.get_runs(filters=dg.RunsFilter(tags=tags, statuses=IN_FLIGHT), limit=1)
        )
        if busy:
            return busy
    return []


def resume_cursor(instance: dg.DagsterInstance, source: str, cursor: str | None) -> str | None:
    """Past the batches already launched from ``cursor`` (a tick that launched runs and
    died before saving its cursor). From the very start it is left alone: runs of an
    older landing folder may also start there."""
    if cursor is None:
        return None
    launched: dict[str | None, str] = {}
    for run in instance.get_runs(
        filters=dg.RunsFilter(tags={SOURCE_TAG: source}), limit=_LAUNCHED_LOOKBACK
    ):
        batch = WebhookBatch.from_tags(run.tags, source)
        if batch is not None:
            launched[batch.from_cursor] = batch.to_cursor
    for _ in range(len(launched)):
        if cursor not in launched:
            break
        cursor = launched[cursor]
    return cursor


def _daily_keys(
    context: dg.SensorEvaluationContext,
    selection: dg.AssetSelection,
    partitions: dg.DailyPartitionsDefinition,
) -> list[dg.AssetKey] | None:
    """The selection's assets on the daily partitions, plus the vector index (not
    partitioned, but the batch's new chunks are only searchable once it syncs, so it runs
    at the end of the same run). A partition range means nothing to the others, which
    their own automation materializes. None: the sensor's target."""
    repo = context.repository_def
    if repo is None:
        return None
    graph = repo.asset_graph
    keys = selection.resolve(graph)
    return sorted(k for k in keys if graph.get(k).partitions_def == partitions or k == INDEX_KEY)


def landing_location(settings: Settings) -> str:
    return settings.landing.url or str(settings.webhook_landing_dir)


def webhook_sensor(
    spec: SourceSpec,
    landing: Callable[[], EventReader],
    settings: Settings,
    *,
    max_events: int,
    max_batches_per_tick: int,
) -> dg.SensorDefinition:
    selection = dg.AssetSelection.assets(raw_key(spec.name)).downstream()
    partitions = daily_partitions(settings)

    @dg.sensor(
        name=sensor_name(spec.name),
        asset_selection=selection,
        minimum_interval_seconds=MINIMUM_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Drains {spec.name} webhook events landed by the receiver in "
            f"{landing_location(settings)}: every {MINIMUM_INTERVAL_S} s, batches of up to "
            f"{max_events} new events, one run per batch (run key = the batch's cursors, "
            f"so a re-evaluated tick never duplicates a run) materializing {spec.raw_asset} "
            "and everything downstream for the days the events belong to. Waits while a "
            "previous batch's run is queued or running; the cursor is the last batch "
            "requested."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        busy = _in_flight(context.instance, spec.name)
        if busy:
            return dg.SensorResult(
                skip_reason=f"run {busy[0].run_id} writing {spec.name} data is in flight"
            )
        cursor = resume_cursor(context.instance, spec.name, context.cursor or None)
        # Opened per tick, not at load: a broken landing store fails the tick (shown
        # on the sensor), never the whole code location.
        batches = plan_batches(spec, landing(), cursor, max_events, max_batches_per_tick)
        if not batches:
            return dg.SensorResult(skip_reason=f"no new {spec.name} events", cursor=cursor)
        keys = _daily_keys(context, selection, partitions)
        requests = [
            dg.RunRequest(
                run_key=b.run_key,
                asset_selection=keys,
                tags={
                    **b.to_tags(),
                    **partition_tags(b, partitions),
                    MAX_RUNTIME_TAG: str(BATCH_RUN_MAX_RUNTIME_S),
                },
            )
            for b in batches
        ]
        context.log.info(
            f"{len(requests)} {spec.name} batches, {sum(b.size or 0 for b in batches)} events"
        )
        return dg.SensorResult(run_requests=requests, cursor=batches[-1].to_cursor)

    return _sensor


def build_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    return [
        webhook_sensor(
            SPECS[s],
            lambda: open_landing(settings),
            settings,
            max_events=settings.webhooks.batch_events,
            max_batches_per_tick=settings.webhooks.batches_per_tick,
        )
        for s in WEBHOOK_SOURCES
    ]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=build_sensors(current_settings()))
