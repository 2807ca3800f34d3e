"""The local profile's two stores, built in one place for the code location and for
``sophia-pipeline status``, which must not pay for importing every production client
(Snowflake, Pinecone, the API readers) to count rows in two local files."""

from __future__ import annotations

from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.settings import Settings
from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse


def local_warehouse(settings: Settings, read_only: bool = False) -> DuckDBWarehouse:
    return DuckDBWarehouse(
        path=str(settings.duckdb_path), raw_tables=raw_tables(), read_only=read_only
    )


def local_vector_store(settings: Settings) -> LanceDBVectorStore:
    return LanceDBVectorStore(uri=str(settings.lancedb_dir))
