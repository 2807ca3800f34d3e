"""The warehouse interface: DuckDB locally, Snowflake in production.

SQL is written once, in Snowflake's dialect, as files under ``store/sql/`` (package data,
so an installed wheel carries them); the DuckDB
implementation runs the sqlglot transpilation of the same files. Values always travel as
``?`` parameters; table names only ever come from this codebase, never from input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import dagster as dg
import pandas as pd
import sqlglot

log = logging.getLogger(__name__)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


def checked_table(name: str) -> str:
    """``schema.table`` made of plain identifiers, or an error: never interpolate more."""
    if not _IDENT.match(name):
        raise ValueError(f"not a schema-qualified table name: {name!r}")
    return name.lower()


# Read through importlib.resources, not a path relative to the source tree: the files are
# package data and must be found wherever the package is installed.
DDL_DIR: Traversable = files("sophia_pipeline.store") / "sql"


# The raw layer's one table shape, a template: rendered once per raw table, with
# ``{table}`` replaced by the table's checked name. The table names are passed in (the
# ``Warehouse`` resource's ``raw_tables``, filled from the source registry by
# ``defs/resources.py``): the store does not know which sources exist.
RAW_TABLE_TEMPLATE = "10_raw.sql"
TABLE_PLACEHOLDER = "{table}"


def ddl_files(sql_dir: Traversable = DDL_DIR) -> list[Traversable]:
    """The ``*.sql`` files of ``sql_dir`` in run order (their names start with a number)."""
    return sorted((p for p in sql_dir.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)


def render_raw_tables(template: str, raw_tables: Sequence[str]) -> str:
    """The raw-table template once per table of ``raw_tables`` (in that order)."""
    return "\n".join(template.replace(TABLE_PLACEHOLDER, checked_table(t)) for t in raw_tables)


def ddl_texts(sql_dir: Traversable = DDL_DIR, raw_tables: Sequence[str] = ()) -> list[str]:
    """The SQL text of every DDL file in run order, the raw-table template rendered for
    ``raw_tables``."""
    texts = []
    for path in ddl_files(sql_dir):
        text = path.read_text(encoding="utf-8")
        if path.name == RAW_TABLE_TEMPLATE:
            text = render_raw_tables(text, raw_tables)
        texts.append(text)
    return texts


def ddl_statements(
    dialect: str, sql_dir: Traversable = DDL_DIR, raw_tables: Sequence[str] = ()
) -> list[str]:
    """Every statement of the DDL files in file order, rendered for ``dialect``, with one
    raw table per name of ``raw_tables``."""
    statements: list[str] = []
    for text in ddl_texts(sql_dir, raw_tables):
        if dialect == "snowflake":
            statements.extend(
                s.sql(dialect="snowflake") for s in sqlglot.parse(text, read="snowflake") if s
            )
        else:
            # CLUSTER BY has no DuckDB equivalent; sqlglot drops it, and says so on the
            # root logger, which is noise here.
            logging.getLogger("sqlglot").setLevel(logging.ERROR)
            statements.extend(
                _dynamic_table_as_view(s).sql(dialect=dialect)
                for s in sqlglot.parse(text, read="snowflake")
                if s
            )
    return statements


def _dynamic_table_as_view(stmt: sqlglot.exp.Expr) -> sqlglot.exp.Expr:
    """A Snowflake dynamic table as a view over the same query (other statements as they
    are). sqlglot would render it as CREATE TABLE ... AS, a snapshot that never refreshes;
    a view is the same query with zero lag. OR REPLACE: a view holds no data, and
    replacing it keeps it in step with the file."""
    if not (
        isinstance(stmt, sqlglot.exp.Create)
        and stmt.args.get("properties")
        and any(
            isinstance(p, sqlglot.exp.DynamicProperty) for p in stmt.args["properties"].expressions
        )
    ):
        return stmt
    return sqlglot.exp.Create(this=stmt.this, kind="VIEW", replace=True, expression=stmt.expression)


def tables_in_ddl(sql_dir: Traversable = DDL_DIR, raw_tables: Sequence[str] = ()) -> list[str]:
    """Every table the DDL creates (dynamic tables included), one per ``raw_tables`` name."""
    names: list[str] = []
    for text in ddl_texts(sql_dir, raw_tables):
        for stmt in sqlglot.parse(text, read="snowflake"):
            if isinstance(stmt, sqlglot.exp.Create) and stmt.kind == "TABLE":
                table = stmt.this.this if isinstance(stmt.this, sqlglot.exp.Schema) else stmt.this
                names.append(f"{table.db}.{table.name}".lower())
    return names


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
        """Rows of every table the DDL names. Given the tables that ``existing`` says are
        there (``existing_tables()``), one not among them counts 0 and is never queried:
        so a reader (``status``) counts without creating anything."""
        return {
            t: self.count(t) if existing is None or t in existing else 0
            for t in tables_in_ddl(raw_tables=self.raw_tables)
        }

    def refresh_dynamic_table(self, table: str) -> None:
        """Brings a dynamic table up to date now. Only Snowflake has them (it refreshes
        each within its target lag on its own); DuckDB renders them as views, which are
        always current."""

    def existing_tables(self) -> set[str]:
        """``schema.table`` of every table and view the warehouse holds now (lower case)."""
        df = self.query("SELECT table_schema, table_name FROM information_schema.tables")
        return {
            f"{schema}.{name}".lower()
            for schema, name in zip(df["table_schema"], df["table_name"], strict=True)
        }


def align_columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df`` with exactly the table's columns, in its order (missing ones null)."""
    missing = [c for c in df.columns if c not in columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    return df.reindex(columns=columns)
