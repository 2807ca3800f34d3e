"""The warehouse's tables as SQL files: read, rendered for an engine, and listed.

SQL is written once, in Snowflake's dialect, as files under ``store/sql/`` (package data,
so an installed wheel carries them); DuckDB runs the sqlglot transpilation of the same
files. Table names only ever come from this codebase, and are checked before they are
put into SQL (``checked_table``). Nothing here imports Dagster: ``status`` lists and
counts the tables without paying for it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable

import sqlglot

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
