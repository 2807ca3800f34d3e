"""Every read and write of the pipeline's own tables: the one home of its SQL.

One module per warehouse schema (``raw``, ``staging``, ``embeddings``, ``ops``,
``intelligence``, ``executive``), ``external`` for tables other tools load (Airbyte,
Estuary), the engines (``warehouse``, ``duckdb_warehouse``, ``snowflake_warehouse``) and
the DDL as package data under ``sql/``. Functions take a ``Warehouse`` (or an open
``Transaction``) and plain values and return rows, DataFrames or counts; identifiers are
checked and every value travels as a ``?`` parameter.
"""
