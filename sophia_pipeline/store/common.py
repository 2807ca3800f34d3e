"""Helpers every store module shares: timestamps as stored, IN-list batches, and running
inside a caller's transaction or one of its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pandas as pd

from .warehouse import Transaction, Warehouse, checked_table

# Values per IN (...) list: well under every engine's parameter limit.
IN_BATCH = 500


def utc_naive(ts: datetime | None) -> datetime | None:
    """Timestamps are stored as naive UTC (TIMESTAMP_NTZ)."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def in_batches(values: Sequence[str]) -> list[list[str]]:
    return [list(values[i : i + IN_BATCH]) for i in range(0, len(values), IN_BATCH)]


def placeholders(values: Sequence[object]) -> str:
    """``?, ?, ?``: one parameter per value of an IN list."""
    return ", ".join("?" for _ in values)


@contextmanager
def within(target: Warehouse | Transaction) -> Iterator[Transaction]:
    """``target`` itself when it is an open transaction, else a new one on it."""
    if isinstance(target, Transaction):
        yield target
    else:
        with target.transaction() as tx:
            yield tx


def rows_by_day(
    wh: Warehouse, table: str, start: date, end: date, source: str | None = None
) -> dict[date, int]:
    """Rows per ``partition_date`` of ``table`` in [start, end) (of ``source`` when given):
    what each partition holds after a write, for its own materialization's metadata."""
    where, params = "partition_date >= ? AND partition_date < ?", [start, end]
    if source is not None:
        where += " AND source = ?"
        params.append(source)  # type: ignore[arg-type]
    df = wh.query(
        f"SELECT partition_date, COUNT(*) AS n FROM {checked_table(table)} "
        f"WHERE {where} GROUP BY partition_date",
        params,
    )
    return {
        pd.Timestamp(d).date(): int(n) for d, n in zip(df["partition_date"], df["n"], strict=True)
    }
