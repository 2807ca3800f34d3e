"""Every source: landing files -> raw (append-only) -> normalized documents.

Built from ``sources/registry.py``: the same two assets per source, so every source's
documents flow into the same chunk, embedding, index and warehouse stages.
"""

import dagster as dg

from sophia_pipeline.defs.jobs import replay_day
from sophia_pipeline.defs.keys import DOCUMENTS, RAW, documents_key, raw_key
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import daily_io_asset
from sophia_pipeline.processing.frames import records
from sophia_pipeline.resources.source_readers import SourceReader
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.sources.registry import SPECS, SourceSpec, raw_records
from sophia_pipeline.store import ops, raw, staging
from sophia_pipeline.store.common import rows_by_day
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline.webhooks.batches import WebhookBatch, webhook_records

from .windows import count_by_day, report_per_partition, window_metadata, window_of


def reader_key(source: str) -> str:
    return f"{source}_source"


def source_assets(spec: SourceSpec, settings: Settings) -> list[dg.AssetsDefinition]:
    wh_kind = warehouse_kind(settings)
    webhook_root = settings.webhook_landing_dir

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
        accepted, rejected, files = reader.read(spec, start, end, context.log)
        batch = WebhookBatch.from_tags(context.run.tags, spec.name)
        if batch is not None:
            # A run requested by the webhook sensor: the batch's landed events too.
            hooked, bad_hooks = webhook_records(spec, webhook_root, batch)
            accepted += hooked
            rejected += bad_hooks
            context.log.info(f"webhook batch {batch.run_key}: {len(hooked)} events")
        new, known = raw.append_raw(warehouse, spec.raw_table, accepted, spec.record_id)
        dead = ops.record_dead_letters(warehouse, spec.name, spec.raw_asset, rejected, start)
        if batch is not None:
            ops.commit_webhook_cursor(warehouse, spec.name, batch.to_cursor, context.run_id)
        for r in rejected:
            context.log.warning(f"dead letter {r.source_file}:{r.line_no}: {r.error}")
        context.log.info(
            f"{files} files: {new} new records, {known} already loaded, {dead} dead letters"
        )
        # A rejected line's day is its file's (where a replay would put it).
        dead_by_day = count_by_day(replay_day(r.source_file, start) for r in rejected)
        read_by_day = count_by_day(a.day or start for a in accepted) + dead_by_day
        report_per_partition(
            context,
            {
                "records_read": read_by_day,
                "dead_letters": dead_by_day,
                "records_stored": rows_by_day(warehouse, spec.raw_table, start, end),
            },
        )
        return dg.MaterializeResult(
            metadata=window_metadata(
                context,
                files_read=files,
                records_read=len(accepted) + len(rejected),
                records_new=new,
                records_already_loaded=known,
                dead_letters=dead,
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
