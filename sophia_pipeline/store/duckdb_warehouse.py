"""DuckDB implementation of the warehouse (the local profile)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from .duckdb_file import WarehouseLockedError, open_duckdb, query_frame
from .warehouse import (
    Transaction,
    Warehouse,
    align_columns,
    checked_table,
    ddl_statements,
    in_transaction,
)

__all__ = ["DuckDBWarehouse", "WarehouseLockedError"]


class _DuckDBTransaction(Transaction):
    def insert(self, table: str, rows: list[dict[str, Any]]) -> int:
        # One set-based insert from a DataFrame: executemany goes row by row in DuckDB.
        if not rows:
            return 0
        frame = pd.DataFrame(rows)
        columns = ", ".join(frame.columns)
        self._cur.register("_sophia_rows", frame)
        try:
            self._cur.execute(
                f"INSERT INTO {checked_table(table)} ({columns}) SELECT {columns} FROM _sophia_rows"
            )
        finally:
            self._cur.unregister("_sophia_rows")
        return len(rows)


class DuckDBWarehouse(Warehouse):
    """One DuckDB file. Connections are opened per call so that several processes
    (the webserver, run workers, the CLI) take turns instead of holding the lock."""

    path: str
    # Opened read-only: never writes the file (``status`` reads it while runs may write).
    read_only: bool = False
    # Longest wait for another process's lock on the file, then WarehouseLockedError.
    lock_wait_s: float = 120.0

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = open_duckdb(self.path, self.read_only, self.lock_wait_s)
        try:
            yield con
        finally:
            con.close()

    def ensure_schema(self) -> None:
        if self.read_only:
            return  # creating the schema is a write; a reader finds what is there
        with self._connect() as con:
            for stmt in ddl_statements("duckdb", raw_tables=self.raw_tables):
                con.execute(stmt)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._connect() as con:
            yield from in_transaction(_DuckDBTransaction(con))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._connect() as con:
            con.execute(sql, list(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self._connect() as con:
            return query_frame(con, sql, params)

    def replace_where(
        self, table: str, df: pd.DataFrame, where: str, params: Sequence[Any] = ()
    ) -> int:
        table = checked_table(table)
        with self._connect() as con:
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            # DuckDB reads `frame` by name (a replacement scan of this local).
            frame = align_columns(df, columns)
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {table} WHERE {where}", list(params))
                if not frame.empty:
                    con.execute(f"INSERT INTO {table} SELECT * FROM frame")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return len(frame)
