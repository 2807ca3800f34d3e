"""GONG_INTELLIGENCE.CALL_SUMMARIES: per call, a summary, the objections raised and the
next steps agreed; by the LLM gateway when configured, else extractive."""

from typing import Any

import dagster as dg

from sophia_pipeline.defs.keys import INTELLIGENCE, SUMMARIES_KEY, documents_key
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import daily_io_asset
from sophia_pipeline.processing import summaries
from sophia_pipeline.processing.frames import records
from sophia_pipeline.resources.llm_gateway import LlmCallError, LLMGateway
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.store import intelligence, staging
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.warehouse import Warehouse

from .windows import count_by_day, report_per_partition, window_metadata, window_of

PURPOSE = "gong_summary"


def llm_summarizer(gateway: LLMGateway, log: Any) -> summaries.LlmSummarizer | None:
    """The gateway as the summarizer ``summary_rows`` takes; None when unconfigured. A
    failed or off-shape reply is logged and returns None (that call goes extractive)."""
    if not gateway.configured:
        return None

    def summarize(title: str | None, turns: list[dict[str, Any]]) -> summaries.LlmSummary | None:
        try:
            reply = gateway.chat(summaries.summary_messages(title, turns), purpose=PURPOSE)
        except LlmCallError as exc:
            log.warning(f"LLM summary of {title!r} failed ({exc}); extractive instead")
            return None
        parsed = summaries.parse_summary(reply.text)
        if parsed is None:
            log.warning(f"LLM summary of {title!r} is not the asked JSON; extractive instead")
            return None
        return summaries.LlmSummary(parsed, reply.model)

    return summarize


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        **daily_io_asset(
            settings,
            key=SUMMARIES_KEY,
            deps=[documents_key("gong")],
            group_name=INTELLIGENCE,
            kinds={warehouse_kind(settings), "table"},
            automation_condition=dg.AutomationCondition.eager(),
            check_specs=[dg.AssetCheckSpec("every_call_summarized", asset=SUMMARIES_KEY)],
        )
    )
    def gong_summaries(  # type: ignore[no-untyped-def]
        context: dg.AssetExecutionContext, warehouse: Warehouse, llm_gateway: LLMGateway
    ):
        """One row per Gong call (call date = partition): summary, objections, next steps.
        With PORTKEY_API_KEY set, written by the LLM through the gateway (each request's
        tokens and cost in executive_intelligence.llm_usage; an unchanged transcript
        keeps its stored LLM summary, so a re-run pays nothing); without it, or when the
        LLM fails for a call, by the extractive summarizer (no network). The `summarizer`
        column and the metadata say which ran."""
        start, end = window_of(context)
        docs = records(staging.read_documents(warehouse, "gong", start, end))
        stored = {
            str(r["call_id"]): r
            for r in records(intelligence.call_summaries_between(warehouse, start, end))
        }
        summarize = llm_summarizer(llm_gateway, context.log)
        rows, stats = summaries.summary_rows(
            docs, stored, summarize, llm_gateway.model if summarize else None, now_utc()
        )
        written = intelligence.write_call_summaries(warehouse, summaries.frame(rows), start, end)
        report_per_partition(context, {"calls": count_by_day(r["call_date"] for r in rows)})
        yield dg.MaterializeResult(
            metadata={
                **window_metadata(context, calls=written),
                "summarizer": summarizer_label(stats, llm_gateway),
                "window_by_summarizer": dg.MetadataValue.json(stats.as_dict()),
            }
        )
        empty = sum(1 for r in rows if not str(r["summary"]).strip())
        yield dg.AssetCheckResult(
            check_name="every_call_summarized",
            passed=empty == 0,
            metadata={"calls_without_summary": empty},
        )

    return [gong_summaries]


def summarizer_label(stats: summaries.SummaryStats, gateway: LLMGateway) -> str:
    """What wrote this window's summaries, in words for the UI."""
    if not gateway.configured:
        return "extractive (no PORTKEY_API_KEY)"
    if stats.extractive == 0:
        return f"llm ({gateway.model})"
    return f"llm ({gateway.model}), extractive for {stats.extractive} call(s) the LLM failed"


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
