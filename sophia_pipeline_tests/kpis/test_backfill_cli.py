"""A 30-day backfill of kpis/rollups from the CLI, exactly as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.kpis import dataset

# Runs `dagster asset materialize` in a subprocess.
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
# The README's command, word for word; one run covers the whole range.
BACKFILL = (
    "dagster asset materialize -m sophia_pipeline.definitions --select kpis/rollups "
    "--partition-range 2026-09-16...2026-10-15"
)


def test_cli_backfills_30_days_of_kpi_rollups_in_one_run(tmp_path: Path) -> None:
    assert BACKFILL in (REPO / "README.md").read_text()  # what users copy is what runs
    data = tmp_path / "sophia"
    wh = DuckDBWarehouse(path=str(data / "warehouse.duckdb"))
    wh.ensure_schema()
    dataset.seed(wh)
    env = {
        **os.environ,
        "SOPHIA_DATA_DIR": str(data),
        "SOPHIA_PROFILE": "local",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("DAGSTER_HOME", None)
    env.pop("SOPHIA_LLM_MODEL", None)
    out = subprocess.run(
        BACKFILL.split(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr.count("RUN_SUCCESS") == 1

    rows = wh.query("SELECT * FROM executive_intelligence.kpi_rollups ORDER BY kpi_date")
    days = [d.date() for d in rows["kpi_date"]]
    assert len(days) == 30 and days[0] == date(2026, 9, 16) and days[-1] == dataset.KPI_DAY
    by_day = rows.set_index(rows["kpi_date"].dt.date)
    assert by_day.loc[dataset.KPI_DAY, "revenue_mtd"] == 100_000.0
    assert by_day.loc[date(2026, 9, 30), "revenue_mtd"] == 50_000.0  # D2, in September
    assert by_day.loc[dataset.KPI_DAY, "competitive_win_rate"] == 0.5
    assert by_day["llm_cost_efficiency"].isna().all()
