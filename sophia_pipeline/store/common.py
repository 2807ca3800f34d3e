"""Helpers every store module shares: timestamps as stored, IN-list batches, running
inside a caller's transaction or one of its own, and the two reads that list and count
the warehouse's tables. Nothing here imports Dagster (the ``Warehouse`` resource does):
``status`` reads through a plain connection (``Reader``) with the same SQL."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from .ddl import checked_table, tables_in_ddl

if TYPE_CHECKING:
    from .warehouse import Warehouse

# Values per IN (...) list: well under every engine's parameter limit.
IN_BATCH = 500


class Reader(Protocol):
    """What a read needs of a warehouse: a ``Warehouse`` resource, or a plain read-only
    connection (``duckdb_file.DuckDBReader``) where Dagster's import would cost more
    than the read."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Rows as a DataFrame with lower-case column names."""
        ...


class Transaction:
    """An open transaction on one connection: ``?``-parameter SQL, nothing visible to
    anyone else until the ``Warehouse.transaction()`` block commits. Used where several
    tables must change together (rows + a checkpoint or cursor)."""

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(sql, list(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(sql, list(params))
        return list(self._cur.fetchall())

    def insert(self, table: str, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        columns = list(rows[0])
        sql = (
            f"INSERT INTO {checked_table(table)} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        self._cur.executemany(sql, [[r[c] for c in columns] for r in rows])
        return len(rows)


def in_transaction(tx: Transaction) -> Iterator[Transaction]:
    """BEGIN, yield, COMMIT; ROLLBACK if the block raises (and a process that dies inside
    leaves the transaction uncommitted, so the database discards it)."""
    tx.execute("BEGIN")
    try:
        yield tx
    except BaseException:
        tx.execute("ROLLBACK")
        raise
    tx.execute("COMMIT")


def existing_tables(wh: Reader) -> set[str]:
    """``schema.table`` of every table and view the warehouse holds now (lower case)."""
    df = wh.query("SELECT table_schema, table_name FROM information_schema.tables")
    return {
        f"{schema}.{name}".lower()
        for schema, name in zip(df["table_schema"], df["table_name"], strict=True)
    }


def table_counts(
    wh: Reader | None, raw_tables: Sequence[str], existing: Collection[str] | None = None
) -> dict[str, int]:
    """Rows of every table the DDL names (one raw table per name of ``raw_tables``).
    Given the tables that ``existing`` says are there (``existing_tables()``), one not
    among them counts 0 and is never queried: so a reader (``status``) counts without
    creating anything, and with no warehouse at all (``wh`` None) everything counts 0."""
    tables = tables_in_ddl(raw_tables=raw_tables)
    present = [] if wh is None else [t for t in tables if existing is None or t in existing]
    counted: dict[str, int] = {}
    if wh is not None and present:
        # One statement for every table: one connection, one round trip.
        df = wh.query(
            " UNION ALL ".join(
                f"SELECT ? AS t, COUNT(*) AS n FROM {checked_table(t)}" for t in present
            ),
            present,
        )
        counted = {str(t): int(n) for t, n in zip(df["t"], df["n"], strict=True)}
    return {t: counted[t] if t in present else 0 for t in tables}


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
