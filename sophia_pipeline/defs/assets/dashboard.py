"""EXECUTIVE_INTELLIGENCE.EXECUTIVE_DASHBOARD_DAILY: the dashboard's last 30 days."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.keys import DASHBOARD_KEY, EXECUTIVE, MENTIONS_KEY, TRANSCRIPTS_KEY
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, ON_INPUT_CHANGE, OWNERS, SINGLE_RUN
from sophia_pipeline.processing.kpis.dashboard import dashboard_series
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.store import executive
from sophia_pipeline.store.warehouse import Warehouse


def read_dashboard(warehouse: Warehouse) -> pd.DataFrame:
    """The 30 daily rows up to today (UTC), days without activity filled with zeros."""
    return dashboard_series(executive.dashboard_rows(warehouse), datetime.now(UTC).date())


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=DASHBOARD_KEY,
        deps=[TRANSCRIPTS_KEY, MENTIONS_KEY],
        group_name=EXECUTIVE,
        # Not partitioned (it is always "the last 30 days"); single_run lets CLI range
        # backfills of upstream assets include it, once, at the end.
        backfill_policy=SINGLE_RUN,
        retry_policy=IO_RETRY,
        kinds={warehouse_kind(settings), "table"},
        owners=OWNERS,
        automation_condition=ON_INPUT_CHANGE,
        description=(
            "The executive dashboard's data, last 30 days by day: total calls, average "
            "call sentiment, unique accounts on calls, competitors mentioned (distinct, "
            "any source) and mentions. In Snowflake a dynamic table (TARGET_LAG 5 "
            "minutes, incremental refresh; store/sql/65_executive_dashboard.sql says why not a "
            "materialized view), in DuckDB a view over the same query. Materializing it "
            "refreshes the dynamic table now; it runs whenever an input partition changes."
        ),
    )
    def executive_dashboard_data(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        # Asked now (Snowflake would within its 5-minute lag), so what the run reports
        # includes the inputs that triggered it.
        executive.refresh_dashboard(warehouse)
        df = read_dashboard(warehouse)
        active = df[df["total_calls"] > 0]
        return dg.MaterializeResult(
            metadata={
                "days": len(df),
                "from": str(df["activity_date"].iloc[0]),
                "to": str(df["activity_date"].iloc[-1]),
                "total_calls": int(df["total_calls"].sum()),
                "avg_sentiment": float(active["avg_sentiment"].mean()) if len(active) else 0.0,
                "competitor_mentions": int(df["competitor_mentions"].sum()),
                "preview": dg.MetadataValue.md(df.tail(7).to_markdown(index=False)),
            }
        )

    return [executive_dashboard_data]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
