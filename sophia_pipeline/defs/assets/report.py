"""The executive report: a self-contained HTML file under the data directory."""

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.keys import DASHBOARD_KEY, EXECUTIVE, KPI_KEY, MENTIONS_KEY, REPORT_KEY
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, ON_INPUT_CHANGE, OWNERS, SINGLE_RUN
from sophia_pipeline.processing.kpis.alerts import competitor_daily_stats
from sophia_pipeline.processing.report import render_report
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.store import executive, intelligence
from sophia_pipeline.store.warehouse import Warehouse

from .dashboard import read_dashboard

KPI_DAYS = 90
COMPETITOR_DAYS = 30


def report_path(settings: Settings) -> Path:
    return settings.executive_report_path


def read_report_inputs(
    warehouse: Warehouse, today: date
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    kpis = executive.kpi_rollups_between(warehouse, today - timedelta(days=KPI_DAYS), today)
    mentions = intelligence.mentions_since(warehouse, today - timedelta(days=COMPETITOR_DAYS - 1))
    return kpis, read_dashboard(warehouse), competitor_daily_stats(mentions)


def write_atomically(path: Path, text: str) -> None:
    """A reader (the browser, a mail job) never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".report-", suffix=".html")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    path = report_path(settings)
    # The UI drops file:// links, so the metadata links to the read API, which serves
    # the latest report (`sophia-pipeline serve`).
    url = f"{settings.api.base_url}/reports/executive"

    @dg.asset(
        key=REPORT_KEY,
        deps=[KPI_KEY, DASHBOARD_KEY, MENTIONS_KEY],
        group_name=EXECUTIVE,
        backfill_policy=SINGLE_RUN,
        retry_policy=IO_RETRY,
        kinds={"plotly", "html", warehouse_kind(settings)},
        owners=OWNERS,
        automation_condition=ON_INPUT_CHANGE,
        description=(
            "One self-contained HTML file (plotly.js inlined, opens offline) with the KPI "
            "tiles, 90 days of revenue, pipeline, customer health, competitive win rate "
            "and productivity, the dashboard's 30 days of calls and sentiment, and "
            f"competitor mentions and threat levels. Written to {path}; the "
            "materialization's `url` metadata links to the read API's "
            "`/reports/executive`, which serves it (`sophia-pipeline serve`)."
        ),
    )
    def executive_report(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        now = datetime.now(UTC)
        kpis, dashboard, competitors = read_report_inputs(warehouse, now.date())
        write_atomically(path, render_report(kpis, dashboard, competitors, now))
        latest = kpis.iloc[-1] if len(kpis) else None
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "url": dg.MetadataValue.url(url),
                "open": dg.MetadataValue.md(f"[Open the executive report]({url})"),
                "bytes": path.stat().st_size,
                "kpi_days": len(kpis),
                "kpis_as_of": str(pd.Timestamp(latest["kpi_date"]).date())
                if latest is not None
                else "none",
                "competitors": int(competitors["competitor"].nunique()) if len(competitors) else 0,
            }
        )

    return [executive_report]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
