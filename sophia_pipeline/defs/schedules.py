"""Schedules for job-shaped ingest work: API polls, the CoStar batch, Airbyte syncs.

The raw assets already materialize today's partition every hour (their own
``on_cron`` automation condition). The schedules add what that cannot do:

- ``api_poll_schedule`` (hh:30): a second poll of the cursor-driven API sources (Apollo,
  GitHub) between the hourly ones, halving their latency. Their readers resume from a
  stored cursor, so an extra poll only costs requests, never duplicates.
- ``costar_batch_schedule`` (06:30 UTC): yesterday's and today's CoStar partitions. A
  batch file dated yesterday that arrives after midnight is outside the hourly
  automation's reach (it only builds the latest partition); finished files are skipped
  by their checkpoints, so this costs nothing when all is loaded.
- ``airbyte_sync_schedule`` (hh:00, prod with Airbyte configured): starts the Gong,
  HubSpot and Linear syncs; with the lineage edge (``defs/airbyte.py``) the raw assets'
  hourly run then waits for the sync instead of reading the previous hour's tables.

Every tick's run has a ``run_key`` naming the tick, so a restarted daemon re-evaluating
the same tick launches nothing twice. Local profile: defined but stopped (start them in
the UI when wanted).
"""

from datetime import date, datetime, timedelta

import dagster as dg

from sophia_pipeline.defs.airbyte import airbyte_asset_key
from sophia_pipeline.defs.keys import raw_key
from sophia_pipeline.partitions import daily_partitions, partition_key
from sophia_pipeline.settings import Profile, Settings, current_settings

API_POLLED = ("apollo", "github")
TZ = "UTC"  # the partitions are UTC days


def raw_keys(*sources: str) -> list[dg.AssetKey]:
    return [raw_key(s) for s in sources]


def _tick_day(context: dg.ScheduleEvaluationContext) -> date:
    t = context.scheduled_execution_time or datetime.now()
    return t.date()


def _tick_label(context: dg.ScheduleEvaluationContext) -> str:
    t = context.scheduled_execution_time or datetime.now()
    return t.strftime("%Y-%m-%dT%H:%M")


def _status(settings: Settings) -> dg.DefaultScheduleStatus:
    if settings.profile is Profile.PROD:
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    status = _status(settings)

    partitions = daily_partitions(settings)
    api_poll_job = dg.define_asset_job(
        "api_poll_job",
        selection=dg.AssetSelection.assets(*raw_keys(*API_POLLED)),
        partitions_def=partitions,
        description="Polls the cursor-driven APIs (Apollo, GitHub) into today's raw partition.",
    )
    costar_batch_job = dg.define_asset_job(
        "costar_batch_job",
        selection=dg.AssetSelection.assets(*raw_keys("costar")),
        partitions_def=partitions,
        description="Loads the day's CoStar batch files with checkpoints.",
    )

    def day_key(day: date) -> str | None:
        return partition_key(settings, day)

    @dg.schedule(
        name="api_poll_schedule",
        cron_schedule="30 * * * *",
        job=api_poll_job,
        execution_timezone=TZ,
        default_status=status,
        description="Apollo and GitHub, polled half-way between the hourly runs.",
    )
    def api_poll_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        key = day_key(_tick_day(context))
        if key is None:
            return []
        return [dg.RunRequest(run_key=f"api_poll:{_tick_label(context)}", partition_key=key)]

    @dg.schedule(
        name="costar_batch_schedule",
        cron_schedule="30 6 * * *",
        job=costar_batch_job,
        execution_timezone=TZ,
        default_status=status,
        description="CoStar batch files of yesterday (late deliveries) and today.",
    )
    def costar_batch_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        today = _tick_day(context)
        keys = [day_key(today - timedelta(days=1)), day_key(today)]
        return [dg.RunRequest(run_key=f"costar:{k}", partition_key=k) for k in keys if k]

    schedules: list[dg.ScheduleDefinition] = [api_poll_schedule, costar_batch_schedule]

    synced = settings.airbyte.connection_ids() if settings.profile is Profile.PROD else {}
    if synced:
        airbyte_job = dg.define_asset_job(
            "airbyte_sync_job",
            selection=dg.AssetSelection.assets(*(airbyte_asset_key(s) for s in synced)),
            description="Starts the Airbyte syncs and waits for them.",
        )

        @dg.schedule(
            name="airbyte_sync_schedule",
            cron_schedule="0 * * * *",
            job=airbyte_job,
            execution_timezone=TZ,
            default_status=status,
            description="Hourly Airbyte syncs of Gong, HubSpot and Linear.",
        )
        def airbyte_sync_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
            return dg.RunRequest(run_key=f"airbyte:{_tick_label(context)}")

        schedules.append(airbyte_sync_schedule)
    return schedules


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=build_schedules(current_settings()))
