"""The local profile's two stores, built in one place for the code location and for
``sophia-pipeline status``, which must not pay for importing every production client
(Snowflake, Pinecone, the API readers) to count rows in two local files; nor, on its
reading path (``local_reader``, ``local_vector_count``), for Dagster's import (the
resources are Dagster resources) or LanceDB's (two seconds, to read a count that has
not changed since it was taken)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sophia_pipeline.resources.lance_row_count import RowCountCache
from sophia_pipeline.settings import Settings
from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.duckdb_file import DuckDBReader, read_duckdb

if TYPE_CHECKING:
    from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
    from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse

# LanceDBVectorStore's default table, named here too so that reading a cached count
# needs no import of the store's module (which imports LanceDB).
VECTOR_TABLE = "chunks"


def local_warehouse(settings: Settings, read_only: bool = False) -> DuckDBWarehouse:
    from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse

    return DuckDBWarehouse(
        path=str(settings.duckdb_path), raw_tables=raw_tables(), read_only=read_only
    )


def local_vector_store(settings: Settings) -> LanceDBVectorStore:
    from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore

    return LanceDBVectorStore(uri=str(settings.lancedb_dir), table_name=VECTOR_TABLE)


@contextmanager
def local_reader(settings: Settings) -> Iterator[DuckDBReader | None]:
    """The local warehouse read-only, on one connection closed when the block ends; None
    while no DuckDB file exists (reading creates none)."""
    if not Path(settings.duckdb_path).exists():
        yield None
        return
    with read_duckdb(settings.duckdb_path) as reader:
        yield reader


def local_vector_count(settings: Settings) -> int:
    """Vectors in the local index: 0 with no LanceDB folder (as the store itself says),
    the count remembered beside the table while the table is unchanged since, else
    LanceDB's own count (which remembers it for the next call)."""
    if not Path(settings.lancedb_dir).exists():
        return 0
    cached = RowCountCache(settings.lancedb_dir, VECTOR_TABLE).get()
    return cached if cached is not None else local_vector_store(settings).count()
