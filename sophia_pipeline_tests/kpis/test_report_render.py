"""The executive report opened in headless Chromium: every chart draws, nothing logs to the
console, and nothing is fetched (plotly.js is inline; name resolution is switched off)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from sophia_pipeline.processing.kpis import alerts, formulas
from sophia_pipeline.processing.kpis.dashboard import dashboard_series
from sophia_pipeline.processing.report import render_report
from sophia_pipeline_tests.kpis import dataset
from sophia_pipeline_tests.kpis.test_kpi_formulas import inputs

CHARTS = 5


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (.ci/run does)")
    return found


def headless(profile: Path, *extra: str) -> list[str]:
    return [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        # Any attempt to reach the network fails: the page must not need it.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        # Lets plotly's deferred drawing finish before the DOM is dumped.
        "--virtual-time-budget=15000",
        "--window-size=1400,3200",
        *extra,
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    days = formulas.days_in(date(2026, 9, 16), date(2026, 10, 16))
    rollups = formulas.rollup(inputs(), days)
    dashboard = dashboard_series(
        pd.DataFrame(
            [
                {
                    "activity_date": date(2026, 10, d),
                    "total_calls": d % 4 + 1,
                    "avg_sentiment": 0.1 * (d % 5) - 0.1,
                    "unique_accounts": d % 3 + 1,
                    "competitors_mentioned": d % 2,
                    "competitor_mentions": d % 5,
                }
                for d in (1, 3, 6, 9, 13, 14)
            ]
        ),
        dataset.KPI_DAY,
    )
    stats = alerts.competitor_daily_stats(dataset.mentions())
    path = tmp_path_factory.mktemp("report") / "executive_report.html"
    path.write_text(render_report(rollups, dashboard, stats, datetime(2026, 10, 16, 6, tzinfo=UTC)))
    return path


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    assert re.search(r"<script[^>]*\ssrc=", text) is None
    assert text.count("Plotly.newPlot") == CHARTS
    assert "$100,000" in text and "50.0%" in text  # revenue and win-rate tiles of 10-15


@pytest.mark.slow  # a headless browser in a subprocess
def test_charts_draw_in_headless_chromium_without_console_errors(
    report: Path, tmp_path: Path
) -> None:
    out = subprocess.run(
        headless(tmp_path / "profile", "--dump-dom", report.as_uri()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    console = [line for line in out.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = out.stdout

    def elements(pattern: str) -> int:
        # Elements, not text: the inlined plotly.js itself contains these class names.
        return len(re.findall(pattern, dom))

    # plotly drew each chart: the div became a plot with its SVG, title and traces.
    assert elements(r'<div[^>]*class="[^"]*\bjs-plotly-plot\b') == CHARTS
    assert elements(r'<svg class="main-svg"') >= CHARTS
    assert elements(r'<text class="gtitle"') == CHARTS
    assert elements(r'<g class="trace scatter') >= 6  # revenue 3, health/win/productivity 3
    assert elements(r'<g class="trace bars') >= 3  # calls, accounts, competitor stacks
    assert elements(r'<g class="hm"') == 1  # the threat heatmap


@pytest.mark.slow  # a headless browser in a subprocess
def test_screenshot_shows_the_report(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    out = subprocess.run(
        headless(tmp_path / "profile", f"--screenshot={shot}", report.as_uri()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a page with charts
