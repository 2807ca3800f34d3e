"""``status`` reads the stores and writes nothing: only runs write the DuckDB file (a
second writer beside the runs would fight them for DuckDB's one-writer lock)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sophia_pipeline.cli.status import collect_status
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse


def _settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SOPHIA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SOPHIA_PROFILE", "local")
    return load_settings()


def test_status_on_a_fresh_data_dir_creates_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path / "data", monkeypatch)
    status = collect_status(settings)
    assert not settings.duckdb_path.exists()
    assert not settings.lancedb_dir.exists()
    assert status["vectors"] == 0 and status["dead_letters"] == 0
    assert status["tables"] and set(status["tables"].values()) == {0}
    assert "raw.gong_calls" in status["tables"]
    assert status["last_run"] is None


def test_status_leaves_an_existing_warehouse_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path / "data", monkeypatch)
    writer = DuckDBWarehouse(path=str(settings.duckdb_path), raw_tables=raw_tables())
    writer.ensure_schema()
    writer.execute(
        "INSERT INTO ops.webhook_cursors (source, cursor, run_id, committed_at) "
        "VALUES ('slack', 'c1', 'r1', CURRENT_TIMESTAMP)"
    )
    before = hashlib.sha256(settings.duckdb_path.read_bytes()).hexdigest()
    status = collect_status(settings)
    assert status["tables"]["ops.webhook_cursors"] == 1
    assert hashlib.sha256(settings.duckdb_path.read_bytes()).hexdigest() == before
