"""EXECUTIVE_INTELLIGENCE.KPI_ROLLUPS: one row of executive KPIs per day."""

import os
from datetime import date, timedelta

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.keys import KPI_KEY, KPIS, MENTIONS_KEY, TRANSCRIPTS_KEY, documents_key
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import daily_io_asset
from sophia_pipeline.processing import kpis
from sophia_pipeline.resources.tables import now_utc
from sophia_pipeline.resources.warehouse import Warehouse
from sophia_pipeline.settings import Settings, load_settings

from .windows import as_day, report_per_partition, window_metadata, window_of

KPI_TABLE = "executive_intelligence.kpi_rollups"
# Set (to the model's name) wherever an LLM answers questions; without it the LLM KPI is
# null. Read inside definitions(), like the settings.
LLM_ENV = "SOPHIA_LLM_MODEL"


def load_kpi_inputs(
    warehouse: Warehouse, start: date, end: date, llm_configured: bool
) -> kpis.KpiInputs:
    """What the formulas need for the days [start, end), look-backs included."""
    lookback = start - timedelta(days=max(kpis.HEALTH_LOOKBACK_DAYS, kpis.WIN_RATE_LOOKBACK_DAYS))
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
    return kpis.KpiInputs(
        deals=kpis.deals_from_documents(deals),
        calls=kpis.calls_from_transcripts(calls),
        competitive_deals=kpis.competitive_deals_from_mentions(mentions),
        issues=kpis.issues_from_documents(issues),
        pull_requests=kpis.pull_requests_from_documents(prs),
        account_names=kpis.account_names_from_documents(companies),
        llm_configured=llm_configured,
        llm_usage=kpis.llm_usage_from_rows(usage),
    )


KPI_COLUMNS = (
    "revenue_mtd",
    "pipeline_value",
    "customer_health_score",
    "competitive_win_rate",
    "team_productivity_score",
    "llm_cost_efficiency",
)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)  # type: ignore[arg-type]


def _metadata_number(value: object) -> dg.MetadataValue:
    number = _number(value)
    return dg.MetadataValue.null() if number is None else dg.MetadataValue.float(number)


def build_assets(settings: Settings, llm_configured: bool) -> list[dg.AssetsDefinition]:
    @dg.asset(
        **daily_io_asset(
            settings,
            key=KPI_KEY,
            deps=[
                documents_key("hubspot"),
                documents_key("linear"),
                documents_key("github"),
                TRANSCRIPTS_KEY,
                MENTIONS_KEY,
            ],
            group_name=KPIS,
            kinds={"python", warehouse_kind(settings), "table"},
            automation_condition=dg.AutomationCondition.eager(),
            check_specs=[
                dg.AssetCheckSpec("one_row_per_day", asset=KPI_KEY),
                dg.AssetCheckSpec("kpis_in_range", asset=KPI_KEY),
            ],
            description=(kpis.__doc__ or "").split("\n\n", 1)[1].strip(),
        )
    )
    def kpi_rollups(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        start, end = window_of(context)
        days = kpis.days_in(start, end)
        inputs = load_kpi_inputs(warehouse, start, end, llm_configured)
        df = kpis.rollup(inputs, days).assign(computed_at=now_utc())
        written = warehouse.replace_window(KPI_TABLE, df, "kpi_date", start, end)
        latest = df.iloc[-1].to_dict() if len(df) else {}
        # Each day's own KPI values on its own partition: the per-partition plots are
        # the KPI series.
        by_day = {as_day(r["kpi_date"]): r for r in df.to_dict("records")}
        report_per_partition(
            context,
            {k: {d: _metadata_number(r.get(k)) for d, r in by_day.items()} for k in KPI_COLUMNS},
            default=dg.MetadataValue.null(),
        )
        yield dg.MaterializeResult(
            metadata={
                **window_metadata(
                    context,
                    days=written,
                    deals=len(inputs.deals),
                    calls=len(inputs.calls),
                ),
                "llm_configured": llm_configured,
                **{f"latest_{k}": _metadata_number(latest.get(k)) for k in KPI_COLUMNS},
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
