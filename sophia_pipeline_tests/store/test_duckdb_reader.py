"""The plain read-only DuckDB connection ``status`` reads through: the same answers as
the ``Warehouse`` resource from the same SQL, one connection for all its reads, and the
file unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store import common, ops
from sophia_pipeline.store.duckdb_file import DuckDBReader, read_duckdb
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    wh = DuckDBWarehouse(path=str(path), raw_tables=raw_tables())
    wh.ensure_schema()
    wh.execute(
        "INSERT INTO ops.webhook_cursors (source, cursor, run_id, committed_at) "
        "VALUES ('slack', 'c1', 'r1', CURRENT_TIMESTAMP)"
    )
    return path


def test_the_reader_answers_as_the_warehouse_does(path: Path) -> None:
    wh = DuckDBWarehouse(path=str(path), raw_tables=raw_tables(), read_only=True)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with read_duckdb(path) as reader:
        existing = common.existing_tables(reader)
        assert existing == wh.existing_tables()
        assert common.table_counts(reader, raw_tables(), existing) == wh.table_counts(existing)
        assert ops.webhook_cursors(reader) == ops.webhook_cursors(wh) == {"slack": "c1"}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_the_reader_opens_one_connection_and_closes_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[duckdb.DuckDBPyConnection] = []
    connect = duckdb.connect

    def counting_connect(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        con = connect(*args, **kwargs)  # type: ignore[arg-type]
        opened.append(con)
        return con

    monkeypatch.setattr(duckdb, "connect", counting_connect)
    with read_duckdb(path) as reader:
        existing = common.existing_tables(reader)
        common.table_counts(reader, raw_tables(), existing)
        ops.webhook_cursors(reader)
    monkeypatch.undo()
    assert len(opened) == 1
    # Closed: a writer gets the file at once.
    DuckDBWarehouse(path=str(path), lock_wait_s=0.0).execute("DELETE FROM ops.webhook_cursors")


def test_no_file_no_connection(tmp_path: Path) -> None:
    reader = DuckDBReader(tmp_path / "none.duckdb")
    reader.close()  # never opened: nothing to close, nothing created
    assert not (tmp_path / "none.duckdb").exists()
    assert common.table_counts(None, raw_tables(), set()) == dict.fromkeys(
        common.table_counts(None, raw_tables()), 0
    )
