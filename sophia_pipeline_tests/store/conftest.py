"""Every warehouse that runs here: DuckDB, and Snowflake through fakesnow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline_tests.conftest import fakesnow_warehouse


@pytest.fixture(params=["duckdb", "snowflake"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        wh: Warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"), raw_tables=raw_tables())
        wh.ensure_schema()
        yield wh
        return
    with fakesnow_warehouse(tmp_path) as wh:
        yield wh
