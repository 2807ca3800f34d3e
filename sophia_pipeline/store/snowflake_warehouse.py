"""Snowflake implementation of the warehouse (the prod profile), on dagster-snowflake."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
from dagster_snowflake import SnowflakeResource

from .warehouse import (
    Transaction,
    Warehouse,
    align_columns,
    checked_table,
    ddl_statements,
    in_transaction,
)


class SnowflakeWarehouse(Warehouse):
    """Writes stage a DataFrame into a transient table first (write_pandas creates a
    temporary stage, and DDL would commit an open transaction), then delete + insert
    from it inside one transaction."""

    snowflake: SnowflakeResource

    def _cursor_run(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        with self.snowflake.get_connection() as con:
            cur = con.cursor()
            for sql, params in statements:
                cur.execute(sql, list(params))

    def ensure_schema(self) -> None:
        self._cursor_run([(s, ()) for s in ddl_statements("snowflake", raw_tables=self.raw_tables)])

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        # Inserts inside go through executemany, never write_pandas: its temporary stage
        # is DDL, which would commit the open transaction.
        with self.snowflake.get_connection() as con:
            yield from in_transaction(Transaction(con.cursor()))

    def refresh_dynamic_table(self, table: str) -> None:
        self.execute(f"ALTER DYNAMIC TABLE {checked_table(table)} REFRESH")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor_run([(sql, params)])

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self.snowflake.get_connection() as con:
            cur = con.cursor()
            cur.execute(sql, list(params))
            df = cur.fetch_pandas_all()
        df.columns = [c.lower() for c in df.columns]
        return df

    def replace_where(
        self, table: str, df: pd.DataFrame, where: str, params: Sequence[Any] = ()
    ) -> int:
        from snowflake.connector import pandas_tools

        table = checked_table(table)
        schema, name = table.split(".")
        with self.snowflake.get_connection() as con:
            cur = con.cursor()
            cur.execute(f"SELECT * FROM {table} LIMIT 0")
            columns = [d[0].lower() for d in cur.description]
            frame = align_columns(df, columns)
            staging = None
            if not frame.empty:
                staging = f"{name}_stage_{uuid.uuid4().hex[:12]}".upper()
                cur.execute(f"CREATE TRANSIENT TABLE {schema}.{staging} LIKE {table}")
                upper = frame.copy()
                upper.columns = [c.upper() for c in upper.columns]
                pandas_tools.write_pandas(
                    con, upper, staging, schema=schema.upper(), auto_create_table=False
                )
            try:
                cur.execute("BEGIN")
                cur.execute(f"DELETE FROM {table} WHERE {where}", list(params))
                if staging:
                    cols = ", ".join(columns)
                    cur.execute(
                        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {schema}.{staging}"
                    )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                if staging:
                    cur.execute(f"DROP TABLE IF EXISTS {schema}.{staging}")
        return len(frame)
