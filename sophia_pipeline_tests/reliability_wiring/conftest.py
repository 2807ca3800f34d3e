"""Fixtures for the production-reader wiring tests: a DuckDB warehouse in tmp_path, the
misbehaving local HTTP server, and fresh in-memory circuit breakers per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia_pipeline.reliability.breaker import reset_memory_breakers
from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.reliability.fault_server import fault_server, http_server

__all__ = ["fault_server", "http_server"]


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"), raw_tables=raw_tables())
    wh.ensure_schema()
    return wh


@pytest.fixture(autouse=True)
def _fresh_memory_breakers() -> None:
    # Clients built without Redis share one in-memory breaker per name per process: a
    # failure injected by one test must not open it for the next.
    reset_memory_breakers()
