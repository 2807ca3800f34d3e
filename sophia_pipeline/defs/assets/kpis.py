"""EXECUTIVE_INTELLIGENCE.KPI_ROLLUPS: one row of executive KPIs per day."""

import os
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, OWNERS, SINGLE_RUN
from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.processing.kpis import formulas
from sophia_pipeline.processing.kpis import inputs as kpi_inputs
from sophia_pipeline.resources.tables import now_utc
from sophia_pipeline.resources.warehouse import Warehouse
from sophia_pipeline.settings import Settings, load_settings

from .gong_intelligence import MENTIONS_KEY, TRANSCRIPTS_KEY
from .windows import window_label, window_of

KPI_KEY = dg.AssetKey("kpi_rollups")
KPI_TABLE = "executive_intelligence.kpi_rollups"
# Set (to the model's name) wherever an LLM answers questions; without it the LLM KPI is
# null. Read inside definitions(), like the settings.
LLM_ENV = "SOPHIA_LLM_MODEL"


def load_kpi_inputs(
    warehouse: Warehouse, start: date, end: date, llm_configured: bool
) -> kpi_inputs.KpiInputs:
    """What the formulas need for the days [start, end), look-backs included."""
    lookback = start - timedelta(
        days=max(formulas.HEALTH_LOOKBACK_DAYS, formulas.WIN_RATE_LOOKBACK_DAYS)
    )
    deals = warehouse.query(
        "SELECT source_id, account_id, occurred_at, attributes FROM staging.documents "
        "WHERE source = 'hubspot' AND entity_type = 'deal' AND NOT deleted"
    )
    companies = warehouse.query(
        "SELECT account_id, title FROM staging.documents "
        "WHERE source = 'hubspot' AND entity_type = 'company' AND NOT deleted"
    )
    calls = warehouse.query(
        "SELECT call_id, account_id, deal_id, started_at, sentiment_score "
        "FROM gong_intelligence.call_transcripts WHERE call_date >= ? AND call_date < ?",
        [lookback, end],
    )
    mentions = warehouse.query(
        "SELECT deal_id, MIN(mentioned_at) AS mentioned_at "
        "FROM competitive_intelligence.competitor_mentions "
        "WHERE source = 'gong' AND deal_id IS NOT NULL GROUP BY deal_id"
    )
    # Archived issues stay in: the work they record was still done.
    issues = warehouse.query(
        "SELECT source_id, title, author, occurred_at, attributes FROM staging.documents "
        "WHERE source = 'linear' AND entity_type = 'issue'"
    )
    prs = warehouse.query(
        "SELECT source_id, author, occurred_at, attributes FROM staging.documents "
        "WHERE source = 'github' AND entity_type = 'pull_request' AND NOT deleted"
    )
    usage = warehouse.query(
        "SELECT usage_date, requests, cost_usd FROM executive_intelligence.llm_usage "
        "WHERE usage_date >= ? AND usage_date < ?",
        [start, end],
    )
    return kpi_inputs.KpiInputs(
        deals=kpi_inputs.deals_from_documents(deals),
        calls=kpi_inputs.calls_from_transcripts(calls),
        competitive_deals=kpi_inputs.competitive_deals_from_mentions(mentions),
        issues=kpi_inputs.issues_from_documents(issues),
        pull_requests=kpi_inputs.pull_requests_from_documents(prs),
        account_names=kpi_inputs.account_names_from_documents(companies),
        llm_configured=llm_configured,
        llm_usage=kpi_inputs.llm_usage_from_rows(usage),
    )


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)


def build_assets(settings: Settings, llm_configured: bool) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=KPI_KEY,
        deps=[
            "hubspot_documents",
            "linear_documents",
            "github_documents",
            TRANSCRIPTS_KEY,
            MENTIONS_KEY,
        ],
        group_name="kpis",
        partitions_def=daily_partitions,
        backfill_policy=SINGLE_RUN,
        retry_policy=IO_RETRY,
        kinds={"python", warehouse_kind(settings), "table"},
        owners=OWNERS,
        automation_condition=dg.AutomationCondition.eager(),
        check_specs=[
            dg.AssetCheckSpec("one_row_per_day", asset=KPI_KEY),
            dg.AssetCheckSpec("kpis_in_range", asset=KPI_KEY),
        ],
        description=(formulas.__doc__ or "").split("\n\n", 1)[1].strip(),
    )
    def kpi_rollups(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        start, end = window_of(context)
        days = formulas.days_in(start, end)
        inputs = load_kpi_inputs(warehouse, start, end, llm_configured)
        df = formulas.rollup(inputs, days).assign(computed_at=now_utc())
        written = warehouse.replace_window(KPI_TABLE, df, "kpi_date", start, end)
        latest = df.iloc[-1].to_dict() if len(df) else {}
        yield dg.MaterializeResult(
            metadata={
                "days": written,
                "window": window_label(context),
                "deals": len(inputs.deals),
                "calls": len(inputs.calls),
                "llm_configured": llm_configured,
                **{
                    f"latest_{k}": dg.MetadataValue.float(v)
                    if (v := _number(latest.get(k))) is not None
                    else dg.MetadataValue.null()
                    for k in (
                        "revenue_mtd",
                        "pipeline_value",
                        "customer_health_score",
                        "competitive_win_rate",
                        "team_productivity_score",
                        "llm_cost_efficiency",
                    )
                },
            }
        )
        stored = warehouse.query(
            f"SELECT kpi_date, COUNT(*) AS n FROM {KPI_TABLE} "
            "WHERE kpi_date >= ? AND kpi_date < ? GROUP BY kpi_date",
            [start, end],
        )
        yield dg.AssetCheckResult(
            check_name="one_row_per_day",
            passed=len(stored) == len(days) and bool((stored["n"] == 1).all()),
            metadata={"days": len(days), "days_stored": len(stored)},
        )
        out_of_range = _out_of_range(df)
        yield dg.AssetCheckResult(
            check_name="kpis_in_range",
            passed=not out_of_range,
            metadata={"out_of_range": dg.MetadataValue.json(out_of_range)},
        )

    return [kpi_rollups]


def _out_of_range(df: pd.DataFrame) -> dict[str, int]:
    """Rows per KPI outside its possible range (a formula or input bug, never data)."""
    bounds = {
        "revenue_mtd": (0.0, float("inf")),
        "pipeline_value": (0.0, float("inf")),
        "customer_health_score": (0.0, 100.0),
        "competitive_win_rate": (0.0, 1.0),
        "team_productivity_score": (0.0, float("inf")),
    }
    bad = {}
    for col, (lo, hi) in bounds.items():
        values = pd.to_numeric(df[col], errors="coerce").dropna() if len(df) else pd.Series([])
        n = int(((values < lo) | (values > hi)).sum())
        if n:
            bad[col] = n
    return bad


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=build_assets(load_settings(), llm_configured=bool(os.environ.get(LLM_ENV)))
    )
