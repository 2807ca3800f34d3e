"""Gong calls: landing files -> raw (append-only) -> normalized documents."""

import json

import dagster as dg

from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, OWNERS, SINGLE_RUN
from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.resources import tables
from sophia_pipeline.resources.warehouse import Warehouse
from sophia_pipeline.settings import Settings, load_settings
from sophia_pipeline.sources import gong
from sophia_pipeline.sources.landing import Accepted, Rejected, day_files, parse_jsonl

from .windows import window_of

RAW_TABLE = "raw.gong_calls"


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    wh_kind = warehouse_kind(settings)
    landing = settings.landing_dir / "gong" / "calls"

    @dg.asset(
        name="raw_gong_calls",
        group_name="ingest",
        partitions_def=daily_partitions,
        backfill_policy=SINGLE_RUN,
        retry_policy=IO_RETRY,
        kinds={"python", wh_kind},
        owners=OWNERS,
        tags={"source": "gong"},
        automation_condition=dg.AutomationCondition.on_cron("0 * * * *"),
    )
    def raw_gong_calls(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        """Gong call records from the landing files of the partition's days, stored
        append-only in RAW.GONG_CALLS: a record is added once per distinct content, so a
        re-run adds nothing. Malformed lines go to OPS.DEAD_LETTERS with the reason,
        file and line, and never stop the partition."""
        start, end = window_of(context)
        accepted: list[Accepted[gong.GongCall]] = []
        rejected: list[Rejected] = []
        files = day_files(landing, start, end)
        for path in files:
            ok, bad = parse_jsonl(path, gong.GongCall)
            accepted.extend(ok)
            rejected.extend(bad)
        new, known = tables.append_raw(
            warehouse, RAW_TABLE, accepted, "call_id", lambda c: tables.utc_naive(c.started).date()
        )
        dead = tables.record_dead_letters(warehouse, "gong", "raw_gong_calls", rejected, start)
        for r in rejected:
            context.log.warning(f"dead letter {r.source_file}:{r.line_no}: {r.error}")
        context.log.info(
            f"{len(files)} files: {new} new records, {known} already loaded, {dead} dead letters"
        )
        return dg.MaterializeResult(
            metadata={
                "files_read": len(files),
                "records_read": len(accepted) + len(rejected),
                "records_new": new,
                "records_already_loaded": known,
                "dead_letters": dead,
                "window": f"{start}..{end}",
            }
        )

    @dg.asset(
        name="gong_documents",
        deps=[raw_gong_calls],
        group_name="documents",
        partitions_def=daily_partitions,
        backfill_policy=SINGLE_RUN,
        retry_policy=IO_RETRY,
        kinds={"python", wh_kind},
        owners=OWNERS,
        tags={"source": "gong"},
        automation_condition=dg.AutomationCondition.eager(),
    )
    def gong_documents(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        """The newest version of each raw Gong call, normalized into the common document
        schema (``gong:call:<id>``, speaker turns, account and deal keys) in
        STAGING.DOCUMENTS; the partition's window is replaced, never appended to."""
        start, end = window_of(context)
        raw = tables.latest_raw(warehouse, RAW_TABLE, start, end)
        docs = [
            (gong.normalize(gong.GongCall.model_validate(json.loads(p))), day)
            for p, day in zip(raw["payload"], raw["partition_date"], strict=True)
        ]
        written = tables.write_documents(warehouse, "gong", docs, start, end)
        turns = [len(d.turns) for d, _ in docs]
        return dg.MaterializeResult(
            metadata={
                "documents": written,
                "turns_total": sum(turns),
                "turns_max": max(turns, default=0),
                "window": f"{start}..{end}",
            }
        )

    return [raw_gong_calls, gong_documents]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(load_settings()))
