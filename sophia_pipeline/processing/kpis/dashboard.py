"""The executive dashboard's daily series: one row per day, gaps filled."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

DASHBOARD_COLUMNS = (
    "total_calls",
    "avg_sentiment",
    "unique_accounts",
    "competitors_mentioned",
    "competitor_mentions",
)


def dashboard_series(df: pd.DataFrame, today: date, days: int = 30) -> pd.DataFrame:
    """The dashboard's rows for the ``days`` days up to ``today``, one per day: days
    without activity get zero counts and a null average sentiment."""
    wanted = [today - timedelta(days=days - 1 - i) for i in range(days)]
    by_day = {pd.Timestamp(r["activity_date"]).date(): r for r in df.to_dict("records")}
    rows = []
    for d in wanted:
        r = by_day.get(d, {})
        avg = r.get("avg_sentiment")
        rows.append(
            {
                "activity_date": d,
                "total_calls": int(r.get("total_calls") or 0),
                "avg_sentiment": None if avg is None or pd.isna(avg) else float(avg),
                "unique_accounts": int(r.get("unique_accounts") or 0),
                "competitors_mentioned": int(r.get("competitors_mentioned") or 0),
                "competitor_mentions": int(r.get("competitor_mentions") or 0),
            }
        )
    return pd.DataFrame(rows, columns=["activity_date", *DASHBOARD_COLUMNS])
