"""`sophia-pipeline run` twice over the same landed data: the second run embeds nothing
and leaves every raw, chunk, embedding and vector row as it was. Run as users run it:
the CLI's `run` (the named job, in process) on the sample landing zone, every source."""

from __future__ import annotations

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
from sophia_pipeline.sources.registry import raw_tables
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
