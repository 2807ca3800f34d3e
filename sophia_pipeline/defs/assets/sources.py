"""Every source: landing files -> raw (append-only) -> normalized documents.

Built from ``sources/registry.py``: the same two assets per source, so every source's
documents flow into the same chunk, embedding, index and warehouse stages.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from sophia_pipeline.defs.jobs import replay_day
from sophia_pipeline.defs.keys import DOCUMENTS, RAW, documents_key, raw_key
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import daily_io_asset
from sophia_pipeline.processing.frames import records
from sophia_pipeline.resources.source_readers import FetchState, Loaded, SourceReader
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.sources.registry import SPECS, SourceSpec, raw_records
from sophia_pipeline.store import ops, raw, staging
from sophia_pipeline.store.common import rows_by_day
from sophia_pipeline.store.landing import LandingBackend, open_landing
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline.webhooks.batches import WebhookBatch, webhook_records

from .windows import count_by_day, report_per_partition, window_metadata, window_of


def prune_consumed(
    landing: LandingBackend, source: str, consumed: str, settings: Settings, log: Any
) -> None:
    """Once a batch is committed its events are consumed: drop those older than the
    retention window (which is also how long re-deliveries stay de-duplicated). A
    failed prune only delays it to the next batch."""
    older_than = datetime.now(UTC) - timedelta(hours=settings.landing.retention_hours)
    try:
        pruned = landing.prune(source, consumed, older_than)
    except Exception as exc:
        log.warning(f"could not prune the {source} landing store: {exc}")
        return
    if pruned:
        log.info(f"pruned {pruned} consumed {source} landing entries older than {older_than}")


def reader_key(source: str) -> str:
    return f"{source}_source"


def source_assets(spec: SourceSpec, settings: Settings) -> list[dg.AssetsDefinition]:
    wh_kind = warehouse_kind(settings)

    @dg.asset(
        **daily_io_asset(
            settings,
            key=raw_key(spec.name),
            group_name=RAW,
            kinds={"python", wh_kind},
            tags={"source": spec.name},
            automation_condition=dg.AutomationCondition.on_cron("0 * * * *"),
            required_resource_keys={"warehouse", reader_key(spec.name)},
            description=(
                f"{spec.description}, read through the `{reader_key(spec.name)}` resource "
                "(landing files locally, the API or Airbyte in production) for the partition's "
                "days, stored "
                f"append-only in {spec.raw_table.upper()}: a record version is added once per "
                "distinct content, so a re-run adds nothing. Malformed records go to "
                "OPS.DEAD_LETTERS with the reason, file and line, and never stop the partition."
            ),
        )
    )
    def raw_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = window_of(context)
        warehouse: Warehouse = context.resources.warehouse
        reader: SourceReader = getattr(context.resources, reader_key(spec.name))
        since = reader.known_ids_since(start)
        state = FetchState(
            cursors=ops.read_cursors(warehouse, spec.name),
            known_ids=frozenset(
                raw.record_ids_since(warehouse, spec.raw_table, since) if since is not None else ()
            ),
        )
        fetched = reader.read(spec, start, end, state, context.log)
        batch = WebhookBatch.from_tags(context.run.tags, spec.name)
        # A run requested by the webhook sensor: the batch's landed events too.
        landing = open_landing(settings) if batch is not None else None
        hooked, bad_hooks = webhook_records(spec, landing, batch) if landing and batch else ([], [])
        if batch is not None:
            context.log.info(f"webhook batch {batch.run_key}: {len(hooked)} events")
        rejected = [*fetched.rejected, *bad_hooks]
        new, known, dead = raw.commit_load(
            warehouse,
            raw.RawLoad(
                source=spec.name,
                raw_table=spec.raw_table,
                stage=spec.raw_asset,
                record_id=spec.record_id,
                day=start,
                run_id=context.run_id,
                fetched=fetched.accepted,
                fetched_by_id_only=fetched.by_id_only,
                webhook=hooked,
                rejected=rejected,
                cursors=fetched.cursors,
                webhook_cursor=batch.to_cursor if batch is not None else None,
            ),
        )
        if landing is not None and batch is not None:
            prune_consumed(landing, spec.name, batch.to_cursor, settings, context.log)
        loaded = fetched.checkpointed + Loaded(new, known, dead)
        for r in rejected:
            context.log.warning(f"dead letter {r.source_file}:{r.line_no}: {r.error}")
        read = len(fetched.accepted) + len(hooked) + len(rejected) + fetched.checkpointed.records
        context.log.info(
            f"{fetched.files} files: {loaded.new} new records, "
            f"{loaded.already_loaded} already loaded, {loaded.dead_letters} dead letters"
        )
        # A rejected line's day is its file's (where a replay would put it).
        dead_by_day = count_by_day(replay_day(r.source_file, start) for r in rejected)
        per_day = {
            "dead_letters": dead_by_day,
            "records_stored": rows_by_day(warehouse, spec.raw_table, start, end),
        }
        if not fetched.checkpointed.records:
            # A checkpointed reader (CoStar) reports its committed batches as counts
            # without days: there, records_stored is each day's truth.
            fetched_days = (a.day or start for a in [*fetched.accepted, *hooked])
            per_day["records_read"] = count_by_day(fetched_days) + dead_by_day
        report_per_partition(context, per_day)
        return dg.MaterializeResult(
            metadata=window_metadata(
                context,
                files_read=fetched.files,
                records_read=read,
                records_new=loaded.new,
                records_already_loaded=loaded.already_loaded,
                dead_letters=loaded.dead_letters,
            )
        )

    @dg.asset(
        **daily_io_asset(
            settings,
            key=documents_key(spec.name),
            deps=[raw_asset],
            group_name=DOCUMENTS,
            kinds={"python", wh_kind},
            tags={"source": spec.name},
            automation_condition=dg.AutomationCondition.eager(),
            description=(
                f"The newest version of each {spec.name} record landed in the window, "
                "normalized into the common document schema (doc id source:entity:id) in "
                "STAGING.DOCUMENTS. A document lives in the partition of its newest version; "
                "tombstoned records (deleted at the source) keep a row with deleted = true."
            ),
        )
    )
    def documents_asset(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        start, end = window_of(context)
        window = raw_records(spec, records(raw.latest_raw(warehouse, spec.raw_table, start, end)))
        lookup_cache: list = []

        def lookup():  # type: ignore[no-untyped-def]
            if not lookup_cache:
                rows = raw.all_latest_raw(warehouse, spec.raw_table).to_dict("records")
                lookup_cache.extend(raw_records(spec, rows))
            return lookup_cache

        docs = spec.to_documents(window, lookup)
        written = staging.write_documents(warehouse, spec.name, docs, start, end)
        deleted = sum(1 for d, _ in docs if d.deleted)
        report_per_partition(
            context,
            {
                "records": count_by_day(r.day for r in window),
                "documents": rows_by_day(warehouse, "staging.documents", start, end, spec.name),
                "tombstones": count_by_day(day for d, day in docs if d.deleted),
            },
        )
        return dg.MaterializeResult(
            metadata=window_metadata(
                context, records=len(window), documents=written, tombstones=deleted
            )
        )

    return [raw_asset, documents_asset]


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [a for spec in SPECS.values() for a in source_assets(spec, settings)]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
