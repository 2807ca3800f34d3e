"""The crash and concurrency tests' shared sample and clean-run baseline (one per
session: every interrupted or concurrent run is compared with the same clean run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia_pipeline.sample.generator import generate

from .harness import EndState, Run, copy_landing, end_state

# Two weeks of the pinned demo sample: every source has records, and a run is short.
RANGE = ["--start", "2026-11-10", "--end", "2026-11-23"]


@pytest.fixture(scope="session")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash_landing")
    generate(root / "landing", scale=1, seed=7)
    return root


@pytest.fixture(scope="session")
def clean(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> EndState:
    """One uninterrupted run: the state every interrupted one must end in."""
    data = tmp_path_factory.mktemp("clean") / "sophia"
    copy_landing(landing, data)
    run = Run.start(data, RANGE)
    assert run.finish() == 0, run.output()[-4000:]
    state = end_state(data)
    assert state.vector_rows > 0 and state.kpis and state.table_rows["raw.gong_calls"] > 0
    assert state.duplicates() == {"documents": 0, "chunks": 0, "vectors": 0}
    return state
