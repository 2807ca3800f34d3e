"""EXECUTIVE_INTELLIGENCE.KPI_ROLLUPS: one row of executive KPIs per day."""

from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.keys import KPI_KEY, KPIS, MENTIONS_KEY, TRANSCRIPTS_KEY, documents_key
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import daily_io_asset
from sophia_pipeline.processing.frames import as_day
from sophia_pipeline.processing.kpis import formulas
from sophia_pipeline.processing.kpis import inputs as kpi_inputs
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.store import executive, intelligence, staging
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.warehouse import Warehouse

from .windows import report_per_partition, window_metadata, window_of


def load_kpi_inputs(
    warehouse: Warehouse, start: date, end: date, llm_configured: bool
) -> kpi_inputs.KpiInputs:
    """What the formulas need for the days [start, end), look-backs included."""
    lookback = start - timedelta(
        days=max(formulas.HEALTH_LOOKBACK_DAYS, formulas.WIN_RATE_LOOKBACK_DAYS)
    )
    return kpi_inputs.KpiInputs(
        deals=kpi_inputs.deals_from_documents(staging.deal_documents(warehouse)),
        calls=kpi_inputs.calls_from_transcripts(
            intelligence.calls_between(warehouse, lookback, end)
        ),
        competitive_deals=kpi_inputs.competitive_deals_from_mentions(
            intelligence.first_mention_per_deal(warehouse)
        ),
        issues=kpi_inputs.issues_from_documents(staging.issue_documents(warehouse)),
        pull_requests=kpi_inputs.pull_requests_from_documents(
            staging.pull_request_documents(warehouse)
        ),
        account_names=kpi_inputs.account_names_from_documents(staging.company_documents(warehouse)),
        llm_configured=llm_configured,
        llm_usage=kpi_inputs.llm_usage_from_rows(
            executive.llm_usage_between(warehouse, start, end)
        ),
    )


KPI_COLUMNS = (
    "revenue_mtd",
    "pipeline_value",
    "customer_health_score",
    "competitive_win_rate",
    "team_productivity_score",
    "llm_cost_efficiency",
)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)


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
            description=(formulas.__doc__ or "").split("\n\n", 1)[1].strip(),
        )
    )
    def kpi_rollups(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        start, end = window_of(context)
        days = formulas.days_in(start, end)
        inputs = load_kpi_inputs(warehouse, start, end, llm_configured)
        df = formulas.rollup(inputs, days).assign(computed_at=now_utc())
        written = executive.write_kpi_rollups(warehouse, df, start, end)
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
        stored = executive.kpi_rows_per_day(warehouse, start, end)
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
    settings = current_settings()
    return dg.Definitions(assets=build_assets(settings, llm_configured=settings.llm.configured))
