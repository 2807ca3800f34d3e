"""What ``sophia-pipeline status`` prints, and the vector count it reports: true after
every write, read without importing LanceDB while the table is unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sophia_pipeline.cli import main
from sophia_pipeline.cli.status import collect_status, render_status
from sophia_pipeline.resources.local_stores import VECTOR_TABLE, local_vector_store
from sophia_pipeline.settings import Settings, load_settings
from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.factories import vector_record

rec = vector_record


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """A data dir as a run leaves it: the warehouse with rows in two tables, two vectors."""
    settings = load_settings()
    writer = DuckDBWarehouse(path=str(settings.duckdb_path), raw_tables=raw_tables())
    writer.ensure_schema()
    writer.execute(
        "INSERT INTO ops.webhook_cursors (source, cursor, run_id, committed_at) "
        "VALUES ('slack', 'c1', 'r1', CURRENT_TIMESTAMP)"
    )
    writer.execute(
        "INSERT INTO ops.embed_runs (run_id, asset, partition_range, texts_total, "
        "texts_embedded, cache_hits, seconds, recorded_at) "
        "VALUES ('run-1', 'embeddings/gong', '2026-09-01', 12, 5, 7, 1.5, CURRENT_TIMESTAMP)"
    )
    local_vector_store(settings).upsert([rec(0), rec(1)])
    return settings


def test_status_prints_readable_lines(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "{" not in out and "'" not in out, out  # no Python reprs
    lines = out.splitlines()
    assert "profile: local" in lines
    assert "vectors: 2" in lines
    assert lines[lines.index("tables:") + 1].split() == [raw_tables()[0], "0"]
    assert any(line.split() == ["ops.webhook_cursors", "1"] for line in lines)
    run = lines[lines.index("last_run:") + 1 :]
    assert run[0].split() == ["run_id", "run-1"]
    assert [line.split() for line in run[1:4]] == [
        ["texts_total", "12"],
        ["texts_embedded", "5"],
        ["cache_hits", "7"],
    ]
    assert len(run[1]) == len(run[2]) == len(run[3])  # numbers right-aligned


def test_render_status_aligns_tables_and_says_none() -> None:
    text = render_status(
        {
            "profile": "local",
            "tables": {"raw.a": 5, "staging.longer_name": 1200},
            "webhooks_unprocessed": {},
            "last_run": None,
        }
    )
    assert text.splitlines() == [
        "profile: local",
        "tables:",
        "  raw.a                   5",
        "  staging.longer_name  1200",
        "webhooks_unprocessed: none",
        "last_run: none",
    ]


def test_status_json_keeps_its_shape(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert list(status) == [
        "profile",
        "data_dir",
        "tables",
        "embed_runs_logged",
        "vectors",
        "dead_letters",
        "webhooks_unprocessed",
        "last_run",
    ]
    assert status["vectors"] == 2 and status["embed_runs_logged"] == 1
    assert status["last_run"]["texts_total"] == 12


def test_status_never_reports_a_count_from_before_a_write(settings: Settings) -> None:
    assert collect_status(settings)["vectors"] == 2
    assert collect_status(settings)["vectors"] == 2  # from the remembered count
    local_vector_store(settings).upsert([rec(2)])
    assert collect_status(settings)["vectors"] == 3
    local_vector_store(settings).delete([rec(0).id, rec(1).id])
    assert collect_status(settings)["vectors"] == 1
    shutil.rmtree(settings.lancedb_dir / f"{VECTOR_TABLE}.lance")
    assert collect_status(settings)["vectors"] == 0


def test_local_status_imports_no_dagster_lancedb_or_boto3(settings: Settings) -> None:
    """The imports that cost most of status's time are left out of the local profile's
    reading path: LanceDB (two seconds) while the remembered count is current, Dagster
    (half a second: the warehouse is read without the resource) and boto3 (a quarter,
    with a local landing store)."""
    collect_status(settings)  # counts with LanceDB once, and remembers
    probe = (
        "import json, sys\n"
        "from sophia_pipeline.cli.status import collect_status\n"
        "from sophia_pipeline.settings import load_settings\n"
        "status = collect_status(load_settings())\n"
        "print(json.dumps({'vectors': status['vectors'],\n"
        "    'loaded': [m for m in ('lancedb', 'dagster', 'boto3') if m in sys.modules]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "SOPHIA_DATA_DIR": str(settings.data_dir), "SOPHIA_PROFILE": "local"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {"vectors": 2, "loaded": []}
