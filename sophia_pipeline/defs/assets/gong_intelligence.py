"""Tagged warehouse tables: COMPETITIVE_INTELLIGENCE.COMPETITOR_MENTIONS (every source)
and GONG_INTELLIGENCE.CALL_TRANSCRIPTS (one row per call)."""

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.keys import (
    INTELLIGENCE,
    MENTIONS_KEY,
    TRANSCRIPTS_KEY,
    chunks_key,
    documents_key,
)
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import daily_io_asset
from sophia_pipeline.processing.frames import as_day, records
from sophia_pipeline.processing.tag_documents import document_mentions
from sophia_pipeline.processing.tagging.catalog import load_catalog
from sophia_pipeline.processing.tagging.competitors import CompetitorMatcher
from sophia_pipeline.processing.tagging.talking_points import TalkingPointMatcher
from sophia_pipeline.processing.transcripts import transcript_rows
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store import intelligence, staging
from sophia_pipeline.store.warehouse import Warehouse

from .windows import count_by_day, report_per_partition, window_metadata, window_of


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    wh_kind = warehouse_kind(settings)

    @dg.asset(
        **daily_io_asset(
            settings,
            key=MENTIONS_KEY,
            deps=[chunks_key(s) for s in SPECS],
            group_name=INTELLIGENCE,
            kinds={wh_kind, "table"},
            automation_condition=dg.AutomationCondition.eager(),
            check_specs=[dg.AssetCheckSpec("mentions_point_into_chunks", asset=MENTIONS_KEY)],
        )
    )
    def competitor_mentions(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        """One row per competitor mention in the window's documents of every source:
        canonical competitor from the deployment's catalog (`SOPHIA_COMPETITOR_CATALOG`;
        its own tools and integrations never count, nor names inside code or integration
        talk; aliases, possessives and word boundaries handled), the
        alias matched, its context window, the window's VADER sentiment and a 1-5 threat
        level (1 + one point each for an evaluation cue, an incumbency cue, a pricing or
        switching cue, and negative sentiment), with the chunk that holds it."""
        start, end = window_of(context)
        docs = staging.read_documents_all_sources(warehouse, start, end)
        chunks = staging.chunk_spans_of_window_documents(warehouse, start, end)
        chunks_of: dict[str, list[dict]] = {}
        for c in chunks.to_dict("records"):
            chunks_of.setdefault(c["doc_id"], []).append(c)
        matcher = CompetitorMatcher(load_catalog(settings.competitor_catalog))
        rows = [
            m
            for d in records(docs)
            for m in document_mentions(d, chunks_of.get(d["doc_id"], []), matcher)
        ]
        written = intelligence.write_competitor_mentions(warehouse, pd.DataFrame(rows), start, end)
        per = pd.Series([r["competitor"] for r in rows]).value_counts().to_dict() if rows else {}
        report_per_partition(
            context,
            {
                "mentions": count_by_day(r["partition_date"] for r in rows),
                "documents_scanned": count_by_day(docs["partition_date"]),
            },
        )
        yield dg.MaterializeResult(
            metadata={
                **window_metadata(context, mentions=written, documents_scanned=len(docs)),
                "window_by_competitor": dg.MetadataValue.json(
                    {str(k): int(v) for k, v in per.items()}
                ),
            }
        )
        orphans = sum(1 for r in rows if r["chunk_id"].endswith("#?"))
        yield dg.AssetCheckResult(
            check_name="mentions_point_into_chunks",
            passed=orphans == 0,
            metadata={"mentions_outside_any_chunk": orphans},
        )

    @dg.asset(
        **daily_io_asset(
            settings,
            key=TRANSCRIPTS_KEY,
            deps=[
                documents_key("gong"),
                chunks_key("gong"),
                MENTIONS_KEY,
                documents_key("hubspot"),
            ],
            group_name=INTELLIGENCE,
            kinds={wh_kind, "table"},
            automation_condition=dg.AutomationCondition.eager(),
            check_specs=[
                dg.AssetCheckSpec("one_row_per_call", asset=TRANSCRIPTS_KEY),
                dg.AssetCheckSpec("tags_complete", asset=TRANSCRIPTS_KEY),
            ],
        )
    )
    def call_transcripts(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        """One row per Gong call (call date = partition): participants, transcript,
        number of chunks, sentiment_score (token-weighted mean of the chunks' VADER
        scores, in [-1, 1]), competitive_mentions, talking_points_used (said by reps) and
        outcome_category (from the linked HubSpot deal's stage; "unknown" without one).
        The window's rows are replaced, so re-runs never duplicate."""
        start, end = window_of(context)
        docs = staging.read_documents(warehouse, "gong", start, end)
        chunks = staging.read_chunks(warehouse, start, end, source="gong")
        mentions = intelligence.gong_mentions(warehouse, start, end)
        df = transcript_rows(
            docs, chunks, mentions, staging.live_deals(warehouse), TalkingPointMatcher()
        )
        written = intelligence.write_call_transcripts(warehouse, df, start, end)
        outcomes = df["outcome_category"].value_counts().to_dict() if len(df) else {}
        by_day = df.groupby(df["call_date"].map(as_day))["sentiment_score"] if len(df) else None
        report_per_partition(
            context,
            {
                "calls": {as_day(d): n for d, n in by_day.size().items()}
                if by_day is not None
                else {},
                "mean_sentiment": {as_day(d): m for d, m in by_day.mean().items()}
                if by_day is not None
                else {},
            },
        )
        yield dg.MaterializeResult(
            metadata={
                **window_metadata(
                    context,
                    calls=written,
                    mean_sentiment=float(df["sentiment_score"].mean()) if len(df) else 0.0,
                ),
                "window_outcomes": dg.MetadataValue.json(
                    {str(k): int(v) for k, v in outcomes.items()}
                ),
            }
        )
        dupes = intelligence.duplicate_calls(warehouse)
        yield dg.AssetCheckResult(
            check_name="one_row_per_call",
            passed=int(dupes) == 0,
            metadata={"duplicates": int(dupes)},
        )
        untagged = (
            int(df["sentiment_score"].isna().sum() + df["outcome_category"].isna().sum())
            if len(df)
            else 0
        )
        yield dg.AssetCheckResult(
            check_name="tags_complete", passed=untagged == 0, metadata={"untagged_fields": untagged}
        )

    return [competitor_mentions, call_transcripts]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
