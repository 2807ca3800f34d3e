"""GONG_INTELLIGENCE.CALL_TRANSCRIPTS: one row per call."""

import dagster as dg

from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, OWNERS, SINGLE_RUN
from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.processing.transcripts import transcript_rows
from sophia_pipeline.resources import tables
from sophia_pipeline.resources.warehouse import Warehouse
from sophia_pipeline.settings import Settings, load_settings

from .windows import window_label, window_of


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=["gong_intelligence", "call_transcripts"],
        deps=["gong_documents", "gong_chunks"],
        group_name="warehouse",
        partitions_def=daily_partitions,
        backfill_policy=SINGLE_RUN,
        retry_policy=IO_RETRY,
        kinds={warehouse_kind(settings), "table"},
        owners=OWNERS,
        automation_condition=dg.AutomationCondition.eager(),
        check_specs=[
            dg.AssetCheckSpec("one_row_per_call", asset=["gong_intelligence", "call_transcripts"])
        ],
    )
    def call_transcripts(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        """One row per Gong call (call date = partition): participants, transcript,
        number of chunks. The window's rows are replaced, so re-runs never duplicate."""
        start, end = window_of(context)
        docs = tables.read_documents(warehouse, "gong", start, end)
        chunks = tables.read_chunks(warehouse, start, end, source="gong")
        df = transcript_rows(docs, chunks)
        written = warehouse.replace_window(
            "gong_intelligence.call_transcripts", df, "call_date", start, end
        )
        yield dg.MaterializeResult(metadata={"calls": written, "window": window_label(context)})
        dupes = warehouse.query(
            "SELECT COUNT(*) - COUNT(DISTINCT call_id) AS n FROM gong_intelligence.call_transcripts"
        )["n"].iloc[0]
        yield dg.AssetCheckResult(
            check_name="one_row_per_call",
            passed=int(dupes) == 0,
            metadata={"duplicates": int(dupes)},
        )

    return [call_transcripts]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(load_settings()))
