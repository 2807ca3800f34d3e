"""The KPI formulas on the hand-built data set: every expected number is worked out by hand
in dataset.py's docstring, never by the code under test."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from sophia_pipeline.processing.kpis import alerts, dashboard, formulas
from sophia_pipeline.processing.kpis import inputs as kpi_inputs
from sophia_pipeline_tests.kpis import dataset


def inputs(llm_configured: bool = False) -> kpi_inputs.KpiInputs:
    docs = dataset.documents()

    def of(source: str, entity: str) -> pd.DataFrame:
        return docs[(docs["source"] == source) & (docs["entity_type"] == entity)]

    gong_mentions = dataset.mentions().query("source == 'gong'")
    return kpi_inputs.KpiInputs(
        deals=kpi_inputs.deals_from_documents(of("hubspot", "deal")),
        calls=kpi_inputs.calls_from_transcripts(dataset.calls()),
        competitive_deals=kpi_inputs.competitive_deals_from_mentions(gong_mentions),
        issues=kpi_inputs.issues_from_documents(of("linear", "issue")),
        pull_requests=kpi_inputs.pull_requests_from_documents(of("github", "pull_request")),
        account_names=kpi_inputs.account_names_from_documents(of("hubspot", "company")),
        llm_configured=llm_configured,
    )


def test_every_kpi_of_the_day_matches_the_hand_computed_value() -> None:
    row = formulas.rollup_day(inputs(), dataset.KPI_DAY)
    for name, expected in dataset.EXPECTED_KPI_DAY.items():
        if expected is None:
            assert row[name] is None, name
        else:
            assert row[name] == pytest.approx(expected), name


def test_account_health_per_account() -> None:
    assert formulas.account_health(inputs(), dataset.KPI_DAY) == pytest.approx(
        dataset.EXPECTED_ACCOUNT_HEALTH
    )


def test_revenue_is_month_to_date_and_as_of_the_day() -> None:
    deals = inputs().deals
    assert formulas.revenue_mtd(deals, date(2026, 10, 4)) == (0.0, 0)  # D1 closes on the 5th
    assert formulas.revenue_mtd(deals, date(2026, 10, 5)) == (100_000.0, 1)
    assert formulas.revenue_mtd(deals, date(2026, 9, 30)) == (50_000.0, 1)  # D2 in September
    assert formulas.revenue_mtd(deals, date(2026, 11, 1)) == (0.0, 0)  # a new month


def test_pipeline_follows_the_stage_history() -> None:
    deals = inputs().deals
    # 10-20: D4 is lost now, D6 (10-16) is open at 0.2: 36,000 + 2,000 + 30,000.
    assert formulas.pipeline_value(deals, date(2026, 10, 20)) == (68_000.0, 110_000.0, 3)
    # 09-09: D1 0.2 x 100k, D2 0.2 x 50k; D3 not created yet.
    assert formulas.pipeline_value(deals, date(2026, 9, 9)) == pytest.approx(
        (30_000.0, 150_000.0, 2)
    )


def test_stage_without_history_uses_the_current_stage_once_created() -> None:
    deal = kpi_inputs.Deal("X", None, 10.0, datetime(2026, 10, 1), "contractsent")
    assert deal.stage_at(datetime(2026, 9, 30)) is None
    assert deal.stage_at(datetime(2026, 10, 2)) == "contractsent"


def test_win_rate_is_null_without_closed_competitive_deals() -> None:
    rate, won, lost = formulas.competitive_win_rate(inputs(), date(2026, 9, 30))
    assert (rate, won, lost) == (None, 0, 0)  # D2 won then, but its mention is later


def test_health_is_null_without_calls() -> None:
    assert formulas.customer_health_score(kpi_inputs.KpiInputs(), dataset.KPI_DAY) == (None, 0)


def test_productivity_is_null_with_nobody_active() -> None:
    assert formulas.team_productivity(inputs(), date(2026, 8, 20)) == (None, 0, 0, 0)


def test_llm_efficiency_is_null_not_zero_without_an_llm() -> None:
    configured = inputs(llm_configured=True)
    assert formulas.llm_cost_efficiency(inputs(), dataset.KPI_DAY) == (None, None)
    assert formulas.llm_cost_efficiency(configured, dataset.KPI_DAY) == (None, 0.0)  # no spend
    configured.llm_usage = kpi_inputs.llm_usage_from_rows(
        pd.DataFrame(
            [
                {"usage_date": dataset.KPI_DAY, "requests": 100, "cost_usd": 3.0},
                {"usage_date": dataset.KPI_DAY, "requests": 20, "cost_usd": 1.0},
            ]
        )
    )
    assert formulas.llm_cost_efficiency(configured, dataset.KPI_DAY) == (30.0, 4.0)  # 120 / 4


def test_rollup_has_one_row_per_day() -> None:
    days = formulas.days_in(date(2026, 10, 1), date(2026, 10, 16))
    df = formulas.rollup(inputs(), days)
    assert list(df["kpi_date"]) == days
    assert df.iloc[-1]["revenue_mtd"] == 100_000.0


def test_dashboard_series_fills_missing_days() -> None:
    rows = pd.DataFrame(
        [
            {
                "activity_date": pd.Timestamp("2026-10-14"),
                "total_calls": 3,
                "avg_sentiment": 0.25,
                "unique_accounts": 2,
                "competitors_mentioned": 1,
                "competitor_mentions": 4,
            }
        ]
    )
    df = dashboard.dashboard_series(rows, date(2026, 10, 15), days=30)
    assert len(df) == 30 and df["activity_date"].iloc[0] == date(2026, 9, 16)
    assert df.set_index("activity_date").loc[date(2026, 10, 14), "total_calls"] == 3
    assert int(df["total_calls"].sum()) == 3
    assert df.set_index("activity_date")["avg_sentiment"].isna().sum() == 29


def test_threshold_crossings_fire_once_per_crossing() -> None:
    rules = alerts.AlertRules(mention_threshold=5, threat_level_threshold=4, lookback_days=7)
    stats = pd.DataFrame(
        [
            # Clari: 2, 6, 7, 1, 5 mentions: crossings on the 2nd and the 5th day.
            {"competitor": "Clari", "day": date(2026, 10, 1), "mentions": 2, "max_threat": 2},
            {"competitor": "Clari", "day": date(2026, 10, 2), "mentions": 6, "max_threat": 4},
            {"competitor": "Clari", "day": date(2026, 10, 3), "mentions": 7, "max_threat": 5},
            {"competitor": "Clari", "day": date(2026, 10, 4), "mentions": 1, "max_threat": 1},
            {"competitor": "Clari", "day": date(2026, 10, 5), "mentions": 5, "max_threat": 3},
        ]
    )
    days = formulas.days_in(date(2026, 10, 1), date(2026, 10, 6))
    got = {
        (c.rule, c.day.day, c.value, c.previous)
        for c in alerts.threshold_crossings(stats, rules, days)
    }
    assert got == {
        ("mention_count", 2, 6.0, 2.0),
        ("mention_count", 5, 5.0, 1.0),
        ("threat_level", 2, 4.0, 2.0),
    }
    ids = [c.alert_id for c in alerts.threshold_crossings(stats, rules, days)]
    assert ids == [c.alert_id for c in alerts.threshold_crossings(stats, rules, days)]  # stable
    assert len(set(ids)) == 3
