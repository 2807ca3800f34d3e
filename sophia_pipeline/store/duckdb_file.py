"""A DuckDB file opened by one process among several, and read without Dagster.

DuckDB takes one writing process per file: ``open_duckdb`` waits out another process's
lock (a bounded wait). ``DuckDBReader`` is a read-only connection with the ``query`` of
the ``Warehouse`` resource and none of its imports: ``status`` reads the store
functions' SQL through it in a fraction of the time Dagster's import takes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential


def _is_lock_conflict(exc: BaseException) -> bool:
    # DuckDB allows one writing process per file; a step in another process holding the
    # file surfaces as an IOException about the lock, which is worth waiting out.
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class WarehouseLockedError(RuntimeError):
    """The DuckDB file stayed locked by another process for the whole bounded wait."""


def open_duckdb(
    path: str, read_only: bool = False, lock_wait_s: float = 120.0
) -> duckdb.DuckDBPyConnection:
    """A connection, waiting out (at most ``lock_wait_s``) another process's lock."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        for attempt in Retrying(
            retry=retry_if_exception(_is_lock_conflict),
            wait=wait_random_exponential(multiplier=0.05, max=2),
            stop=stop_after_delay(lock_wait_s),
            reraise=True,
        ):
            with attempt:
                return duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        if not _is_lock_conflict(exc):
            raise
        # DuckDB's own message names the holder's pid; say what it means and how long.
        raise WarehouseLockedError(
            f"the warehouse file {path} stayed locked by another process for "
            f"{lock_wait_s:g} s (DuckDB takes one writing process at a time): {exc}"
        ) from exc
    raise AssertionError("unreachable: Retrying returns or raises")


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> pd.DataFrame:
    """Rows as a DataFrame with lower-case column names (as ``Warehouse.query``)."""
    df = con.execute(sql, list(params)).df()
    df.columns = [c.lower() for c in df.columns]
    return df


class DuckDBReader:
    """A DuckDB file read-only, one connection for all of a reader's queries (opening
    one costs more than a count). It never writes the file, but while it is open a
    writing process waits for it (DuckDB's file lock): close it as soon as the reads are
    done (``read_duckdb``). A ``common.Reader``."""

    def __init__(self, path: str | Path, lock_wait_s: float = 120.0) -> None:
        self.path = str(path)
        self.lock_wait_s = lock_wait_s
        self._con: duckdb.DuckDBPyConnection | None = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        if self._con is None:
            self._con = open_duckdb(self.path, read_only=True, lock_wait_s=self.lock_wait_s)
        return query_frame(self._con, sql, params)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


@contextmanager
def read_duckdb(path: str | Path) -> Iterator[DuckDBReader]:
    """A ``DuckDBReader`` closed when the block ends."""
    reader = DuckDBReader(path)
    try:
        yield reader
    finally:
        reader.close()
