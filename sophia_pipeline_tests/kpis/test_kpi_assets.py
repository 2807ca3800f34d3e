"""The KPI stage's assets materialized over a DuckDB warehouse holding the hand-built data
set, and its wiring in the code location."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from sophia_pipeline.defs.assets import dashboard as dashboard_assets
from sophia_pipeline.defs.assets import kpis as kpi_assets
from sophia_pipeline.defs.assets import report as report_assets
from sophia_pipeline.settings import Profile, Settings
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.kpis import dataset


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    wh.ensure_schema()
    dataset.seed(wh)
    return wh


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(profile=Profile.LOCAL, data_dir=tmp_path / "data")


def range_tags(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


def test_kpi_rollups_writes_the_hand_computed_row_and_reruns_idempotently(
    warehouse: DuckDBWarehouse, settings: Settings
) -> None:
    assets = kpi_assets.build_assets(settings, llm_configured=False)
    result = dg.materialize(assets, resources={"warehouse": warehouse}, partition_key="2026-10-15")
    assert all(c.passed for c in result.get_asset_check_evaluations())
    rows = warehouse.query("SELECT * FROM executive_intelligence.kpi_rollups")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["kpi_date"].date() == dataset.KPI_DAY
    for name, expected in dataset.EXPECTED_KPI_DAY.items():
        if expected is None:
            assert row[name] is None or math.isnan(row[name]), name
        else:
            assert row[name] == pytest.approx(expected), name

    # A range that overlaps the day: the day is replaced, not added.
    dg.materialize(
        assets, resources={"warehouse": warehouse}, tags=range_tags("2026-10-14", "2026-10-15")
    )
    days = warehouse.query(
        "SELECT kpi_date, COUNT(*) AS n FROM executive_intelligence.kpi_rollups GROUP BY kpi_date"
    )
    assert sorted(d.date() for d in days["kpi_date"]) == [date(2026, 10, 14), dataset.KPI_DAY]
    assert set(days["n"]) == {1}


def test_dashboard_and_report_materialize_after_the_rollups(
    warehouse: DuckDBWarehouse, settings: Settings
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    warehouse.insert(
        "gong_intelligence.call_transcripts",
        pd.DataFrame([dataset.call_row("today", "A1", "D3", now, 0.3)]),
    )
    assets = [
        *kpi_assets.build_assets(settings, llm_configured=False),
        *dashboard_assets.build_assets(settings),
        *report_assets.build_assets(settings),
    ]
    result = dg.materialize(
        assets, resources={"warehouse": warehouse}, tags=range_tags("2026-10-01", "2026-10-15")
    )
    dash = result.asset_materializations_for_node("executive__dashboard_data")[0].metadata
    assert dash["days"].value == 30 and dash["total_calls"].value == 1
    report = result.asset_materializations_for_node("executive__report")[0].metadata
    path = Path(report["path"].value)
    assert path == settings.data_dir / "reports" / "executive_report.html"
    assert report["kpi_days"].value == 15
    # The UI strips file:// links: the metadata links to the read API, which serves it.
    assert report["url"].value == "http://127.0.0.1:8000/reports/executive"
    assert report["url"].value in report["open"].value
    text = path.read_text()
    # plotly.js inlined: no script is fetched from anywhere.
    assert re.search(r"<script[^>]*\ssrc=", text) is None and "Plotly.newPlot" in text
    assert "$100,000" in text  # revenue MTD tile of 10-15


def test_the_location_wires_the_kpi_stage(data_dir: Path) -> None:
    from sophia_pipeline.definitions import defs

    d = defs()
    graph = d.resolve_asset_graph()
    kpi = graph.get(dg.AssetKey.from_user_string("kpis/rollups"))
    assert kpi.group_name == "kpis" and kpi.partitions_def is not None
    assert {p.to_user_string() for p in kpi.parent_keys} >= {
        "documents/hubspot",
        "documents/linear",
        "documents/github",
        "intelligence/call_transcripts",
        "intelligence/competitor_mentions",
    }
    for name in ("executive/dashboard_data", "executive/report", "executive/competitor_alerts"):
        node = graph.get(dg.AssetKey.from_user_string(name))
        assert node.group_name == "executive" and node.automation_condition is not None
    # Alerts and cache warming are work done in runs, downstream of what they read.
    alerts = graph.get(dg.AssetKey.from_user_string("executive/competitor_alerts"))
    assert {p.to_user_string() for p in alerts.parent_keys} == {"intelligence/competitor_mentions"}
    for name, parent in (
        ("cache/executive_kpis", "kpis/rollups"),
        ("cache/competitive_data", "intelligence/competitor_mentions"),
    ):
        node = graph.get(dg.AssetKey.from_user_string(name))
        assert {p.to_user_string() for p in node.parent_keys} == {parent}
        assert node.automation_condition is not None
    sensors = {s.name for s in d.sensors or []}
    assert not sensors & {
        "competitor_threat_alerts",
        "executive_kpis_cache_warmer",
        "competitive_data_cache_warmer",
    }
    assert {"alert_poster", "alert_rules"} <= set(d.resources or {})
