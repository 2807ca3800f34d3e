"""Helpers every store module shares: timestamps as stored, IN-list batches, and running
inside a caller's transaction or one of its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from .warehouse import Transaction, Warehouse

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
