"""EXECUTIVE_INTELLIGENCE.KPI_ROLLUPS: one row of executive KPIs per day."""

from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, OWNERS, SINGLE_RUN
from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.processing.kpis import formulas
from sophia_pipeline.processing.kpis import inputs as kpi_inputs
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.store import executive, intelligence, staging
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.warehouse import Warehouse

from .gong_intelligence import MENTIONS_KEY, TRANSCRIPTS_KEY
from .windows import window_label, window_of

KPI_KEY = dg.AssetKey("kpi_rollups")
# Set (to the model's name) wherever an LLM answers questions; without it the LLM KPI is
# null. Read inside definitions(), like the settings.


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
        written = executive.write_kpi_rollups(warehouse, df, start, end)
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
    return dg.Definitions(
        assets=build_assets(settings, llm_configured=settings.llm_model is not None)
    )
