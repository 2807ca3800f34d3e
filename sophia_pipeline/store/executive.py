"""EXECUTIVE_INTELLIGENCE: the daily KPI rollups, LLM usage and the executive dashboard
(a dynamic table in Snowflake, a view in DuckDB)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from .common import in_batches

if TYPE_CHECKING:  # annotations only: readers of DASHBOARD_TABLE need no Dagster import
    from .warehouse import Warehouse

KPI_TABLE = "executive_intelligence.kpi_rollups"
DASHBOARD_TABLE = "executive_intelligence.executive_dashboard_daily"
ALERTS_TABLE = "executive_intelligence.alerts"

# --- KPI rollups ---------------------------------------------------------------------------


def write_kpi_rollups(wh: Warehouse, df: pd.DataFrame, start: date, end: date) -> int:
    """The days [start, end) become exactly ``df`` (one row per day)."""
    return wh.replace_window(KPI_TABLE, df, "kpi_date", start, end)


def kpi_rows_per_day(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Stored rows per day of [start, end) (kpi_date, n): days without rows are absent."""
    return wh.query(
        f"SELECT kpi_date, COUNT(*) AS n FROM {KPI_TABLE} "
        "WHERE kpi_date >= ? AND kpi_date < ? GROUP BY kpi_date",
        [start, end],
    )


def kpi_rollups_between(wh: Warehouse, after: date, upto: date) -> pd.DataFrame:
    """The KPI rows of the days (after, upto], oldest first."""
    return wh.query(
        f"SELECT * FROM {KPI_TABLE} WHERE kpi_date > ? AND kpi_date <= ? ORDER BY kpi_date",
        [after, upto],
    )


def kpi_rollups_up_to(wh: Warehouse, upto: date) -> pd.DataFrame:
    """Every KPI row up to ``upto``, newest first (a year is 365 small rows: callers
    slice, which keeps the SQL free of dialect-specific LIMIT binding)."""
    return wh.query(
        f"SELECT * FROM {KPI_TABLE} WHERE kpi_date <= ? ORDER BY kpi_date DESC",
        [upto],
    )


# --- LLM usage ----------------------------------------------------------------------------

LLM_USAGE_TABLE = "executive_intelligence.llm_usage"
LLM_USAGE_COLUMNS = (
    "usage_id",
    "usage_date",
    "called_at",
    "provider",
    "model",
    "purpose",
    "requests",
    "cache_hits",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "priced",
)


def record_llm_usage(wh: Warehouse, rows: Sequence[dict[str, Any]]) -> int:
    """Upserts one row per answered LLM request by ``usage_id`` (a retried write never
    counts a request twice)."""
    if not rows:
        return 0
    df = pd.DataFrame([{c: r[c] for c in LLM_USAGE_COLUMNS} for r in rows])
    return wh.replace_keys(LLM_USAGE_TABLE, df, "usage_id")


def llm_usage_between(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Requests and spend of the days [start, end), one row per request."""
    return wh.query(
        f"SELECT usage_date, requests, cost_usd FROM {LLM_USAGE_TABLE} "
        "WHERE usage_date >= ? AND usage_date < ?",
        [start, end],
    )


def llm_calls_between(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Every recorded request of the days [start, end), oldest first."""
    columns = ", ".join(LLM_USAGE_COLUMNS)
    return wh.query(
        f"SELECT {columns} FROM {LLM_USAGE_TABLE} "
        "WHERE usage_date >= ? AND usage_date < ? ORDER BY called_at, usage_id",
        [start, end],
    )


# --- executive dashboard -------------------------------------------------------------------


def dashboard_rows(wh: Warehouse) -> pd.DataFrame:
    """The dashboard's stored days (only days with activity), oldest first."""
    return wh.query(f"SELECT * FROM {DASHBOARD_TABLE} ORDER BY activity_date")


def refresh_dashboard(wh: Warehouse) -> None:
    """Snowflake refreshes the dynamic table within its 5-minute lag on its own; this asks
    for it now. DuckDB's view is always current: nothing to do."""
    wh.refresh_dynamic_table(DASHBOARD_TABLE)


# --- competitor alerts ---------------------------------------------------------------------


def known_alerts(wh: Warehouse, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored alert rows among ``ids`` (status, attempts, created_at), by alert id."""
    out: dict[str, dict[str, Any]] = {}
    for batch in in_batches(list(ids)):
        ph = ", ".join("?" for _ in batch)
        df = wh.query(
            f"SELECT alert_id, status, attempts, created_at FROM {ALERTS_TABLE} "
            f"WHERE alert_id IN ({ph})",
            batch,
        )
        out.update(
            {str(r["alert_id"]): {str(k): v for k, v in r.items()} for r in df.to_dict("records")}
        )
    return out


def write_alerts(wh: Warehouse, rows: list[dict[str, Any]]) -> int:
    """Upserts alert rows by alert id: one row per alert, however often it is examined."""
    return wh.replace_keys(ALERTS_TABLE, pd.DataFrame(rows), "alert_id")


def kpi_rollups_from_to(wh: Warehouse, first: date, last: date) -> pd.DataFrame:
    """The KPI rows of the days [first, last] (both included), oldest first: what the read
    API's ``get_kpis`` returns for a date range."""
    return wh.query(
        f"SELECT * FROM {KPI_TABLE} WHERE kpi_date >= ? AND kpi_date <= ? ORDER BY kpi_date",
        [first, last],
    )


def newest_kpi_day(wh: Warehouse) -> date | None:
    """The newest day with a KPI row (None while there is none)."""
    value = wh.query(f"SELECT MAX(kpi_date) AS d FROM {KPI_TABLE}")["d"].iloc[0]
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()
