"""The warehouse interface: DuckDB locally, Snowflake in production.

SQL is written once, in Snowflake's dialect, as files under ``store/sql/`` (package data,
so an installed wheel carries them; ``ddl``); the DuckDB
implementation runs the sqlglot transpilation of the same files. Values always travel as
``?`` parameters; table names only ever come from this codebase, never from input.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from . import common
from .common import Transaction, in_transaction
from .ddl import (
    DDL_DIR,
    RAW_TABLE_TEMPLATE,
    TABLE_PLACEHOLDER,
    checked_table,
    ddl_files,
    ddl_statements,
    ddl_texts,
    render_raw_tables,
    tables_in_ddl,
)

# Moved to ``ddl`` and ``common`` (which import no Dagster), still importable from here.
__all__ = [
    "DDL_DIR",
    "RAW_TABLE_TEMPLATE",
    "TABLE_PLACEHOLDER",
    "Transaction",
    "Warehouse",
    "align_columns",
    "checked_table",
    "ddl_files",
    "ddl_statements",
    "ddl_texts",
    "in_transaction",
    "render_raw_tables",
    "tables_in_ddl",
]


class Warehouse(dg.ConfigurableResource):
    """Tables of rows. Writes are idempotent: replace by key or by window, never blind."""

    create_schema: bool = True  # run store/sql/ (CREATE ... IF NOT EXISTS) when a step starts
    # The raw table of every source (``schema.table``), created from the raw-table
    # template of store/sql/ and counted by ``table_counts``.
    raw_tables: list[str] = []

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.create_schema:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Transaction]:
        """One transaction over any number of tables (see ``Transaction``)."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Rows as a DataFrame with lower-case column names."""
        raise NotImplementedError

    def replace_where(
        self, table: str, df: pd.DataFrame, where: str, params: Sequence[Any] = ()
    ) -> int:
        """In one transaction: delete the rows matching ``where``, insert ``df``."""
        raise NotImplementedError

    def insert(self, table: str, df: pd.DataFrame) -> int:
        return self.replace_where(table, df, "1 = 0")

    def replace_keys(self, table: str, df: pd.DataFrame, key: str) -> int:
        """Upsert by ``key``: rows whose key is in ``df`` are replaced by ``df``'s."""
        if df.empty:
            return 0
        keys = [str(k) for k in df[key].unique()]
        placeholders = ", ".join("?" for _ in keys)
        return self.replace_where(table, df, f"{key} IN ({placeholders})", keys)

    def replace_window(
        self,
        table: str,
        df: pd.DataFrame,
        date_column: str,
        start: date,
        end: date,
        extra_where: str = "",
        extra_params: Sequence[Any] = (),
    ) -> int:
        """Partition replace: the rows of ``[start, end)`` (narrowed by ``extra_where``)
        become exactly ``df``."""
        where = f"{date_column} >= ? AND {date_column} < ?"
        if extra_where:
            where += f" AND ({extra_where})"
        return self.replace_where(table, df, where, [start, end, *extra_params])

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT COUNT(*) AS n FROM {checked_table(table)}")["n"].iloc[0])

    def table_counts(self, existing: Collection[str] | None = None) -> dict[str, int]:
        """Rows of every table the DDL names (see ``common.table_counts``)."""
        return common.table_counts(self, self.raw_tables, existing)

    def refresh_dynamic_table(self, table: str) -> None:
        """Brings a dynamic table up to date now. Only Snowflake has them (it refreshes
        each within its target lag on its own); DuckDB renders them as views, which are
        always current."""

    def existing_tables(self) -> set[str]:
        """``schema.table`` of every table and view the warehouse holds now (lower case)."""
        return common.existing_tables(self)


def align_columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df`` with exactly the table's columns, in its order (missing ones null)."""
    missing = [c for c in df.columns if c not in columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    return df.reindex(columns=columns)
