"""`sophia-pipeline run` twice over the same landed data: the second run embeds nothing
and leaves every raw, chunk, embedding and vector row as it was. Run as users run it:
the CLI's `run` (the named job, in process) on the sample landing zone, every source."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sophia_pipeline.cli import main
from sophia_pipeline.definitions import FULL_RUN_JOB
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.sample.generator import DEMO_REFERENCE_DATE, generate
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import SPECS, raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse

pytestmark = pytest.mark.slow  # two CLI runs over every source, on the real model

END = DEMO_REFERENCE_DATE - timedelta(days=1)
START = END - timedelta(days=3)  # four days of every source: enough rows, a short test


def rows(wh: DuckDBWarehouse, table: str, *cols: str) -> list[tuple[Any, ...]]:
    """Every row's identity and content, sorted: equal lists mean nothing was added,
    removed or changed (a delete-and-reinsert of the same rows included)."""
    frame = wh.query(f"SELECT {', '.join(cols)} FROM {table}")
    return sorted(tuple(str(v) for v in r) for r in frame.itertuples(index=False))


def snapshot(wh: DuckDBWarehouse, vs: LanceDBVectorStore) -> dict[str, Any]:
    return {
        **{t: rows(wh, t, "*") for t in raw_tables()},
        "chunks": rows(wh, "staging.chunks", "chunk_id", "content_hash", "text", "tokens"),
        "embedding_cache": rows(wh, "embeddings.embedding_cache", "*"),
        "vector_ids": sorted(vs.ids()),
        "vectors": vs.count(),
    }


def embedded_by_run(wh: DuckDBWarehouse) -> dict[str, int]:
    runs = wh.query("SELECT run_id, SUM(texts_embedded) AS n FROM ops.embed_runs GROUP BY run_id")
    return {str(r.run_id): int(r.n) for r in runs.itertuples()}


def test_a_no_change_rerun_embeds_nothing_and_writes_no_rows(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    # The command sets this one for its own process; restored after the test.
    monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    settings = load_settings()
    generate(settings.landing_dir)
    argv = ["run", "--start", START.isoformat(), "--end", END.isoformat(), "--log-level", "ERROR"]

    assert main(argv) == 0
    wh = DuckDBWarehouse(path=str(settings.duckdb_path), raw_tables=raw_tables())
    vs = LanceDBVectorStore(uri=str(settings.lancedb_dir))
    first = snapshot(wh, vs)
    first_runs = embedded_by_run(wh)
    assert len(first_runs) == 1 and next(iter(first_runs.values())) > 0
    assert sum(len(first[t]) for t in raw_tables()) > 0
    assert first["vectors"] == len(first["chunks"]) > 0

    assert main(argv) == 0
    second_runs = embedded_by_run(wh)
    (rerun,) = set(second_runs) - set(first_runs)
    assert second_runs[rerun] == 0  # every embeddings step ran, and embedded nothing
    assert snapshot(wh, vs) == first

    # Both were runs of the named job, which the UI can re-execute.
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(rerun)
        assert run is not None and run.job_name == FULL_RUN_JOB


def launched(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The JSON object `run` printed last (after its one-line header when it ran)."""
    out = capsys.readouterr().out
    return dict(json.loads(out[out.index("\n{") + 1 :] if not out.startswith("{") else out))


def test_run_without_a_range_launches_only_what_changed(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    settings = load_settings()
    generate(settings.landing_dir)
    for spec in SPECS.values():  # four landed days of every source: a short test
        for _, day, path in spec.landed_files(settings.landing_dir):
            if not START <= day <= END:
                path.unlink()
    argv = ["run", "--log-level", "ERROR"]
    wh = DuckDBWarehouse(path=str(settings.duckdb_path), raw_tables=raw_tables())

    assert main(argv) == 0
    assert launched(capsys)["launched"] is True
    first = snapshot(wh, LanceDBVectorStore(uri=str(settings.lancedb_dir)))
    first_runs = embedded_by_run(wh)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 1

    # Nothing changed: no Dagster run at all, nothing written.
    assert main(argv) == 0
    out = launched(capsys)
    assert out["launched"] is False and out["run_id"] is None
    assert snapshot(wh, LanceDBVectorStore(uri=str(settings.lancedb_dir))) == first
    assert embedded_by_run(wh) == first_runs
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 1

    # A new Linear issue lands on the last day: a run over that day only loads it.
    issues = settings.landing_dir / "linear" / "issues" / f"{END.isoformat()}.jsonl"
    issue = json.loads(issues.read_text().splitlines()[0])
    issue |= {"id": "0f1e2d3c-0000-4000-8000-000000000001", "identifier": "DATA-9001"}
    issue |= {"title": "Fingerprint the landing files", "number": 9001}
    with issues.open("a") as f:
        f.write(json.dumps(issue) + "\n")
    assert main(argv) == 0
    out = launched(capsys)
    assert out["launched"] is True and "linear" in out["reason"]
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(out["run_id"])
        assert run is not None and run.job_name == FULL_RUN_JOB
        assert run.tags["dagster/asset_partition_range_start"] == END.isoformat()
        assert run.tags["dagster/asset_partition_range_end"] == END.isoformat()
    linear_ids = {r[0] for r in rows(wh, "raw.linear_issues", "record_id")}
    assert issue["id"] in linear_ids

    # The index folder deleted: the stores no longer match the record, so everything runs
    # again and the index is whole (from the embedding cache).
    shutil.rmtree(settings.lancedb_dir)
    assert main(argv) == 0
    out = launched(capsys)
    assert out["launched"] is True and "counts" in out["reason"]
    chunks = rows(wh, "staging.chunks", "chunk_id")
    assert LanceDBVectorStore(uri=str(settings.lancedb_dir)).count() == len(chunks) > 0
