"""Every read and write of the pipeline's own tables: the one home of its SQL.

One module per warehouse schema (``raw``, ``staging``, ``embeddings``, ``ops``,
``intelligence``, ``executive``), ``external`` for tables other tools load (Airbyte,
Estuary), the engines (``warehouse``, ``duckdb_warehouse``, ``snowflake_warehouse``) and
the DDL as package data under ``sql/`` (read and rendered by ``ddl``). Functions take a
``Warehouse`` (or an open ``Transaction``) and plain values and return rows, DataFrames
or counts; identifiers are checked and every value travels as a ``?`` parameter.

``ddl``, ``common`` and ``duckdb_file`` import no Dagster: a read typed ``common.Reader``
also runs on a plain read-only DuckDB connection (``duckdb_file.DuckDBReader``), which
is how ``sophia-pipeline status`` reads without paying for Dagster's import.
"""
