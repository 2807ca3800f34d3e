"""SIGKILL ``sophia-pipeline run`` at points found in its own output, run it again, and
the end state is a clean run's: same documents, chunks and hashes, vectors and their
hashes, row counts of every warehouse table (bookkeeping aside) and KPI values; no
duplicate, no loss, no stale vector. The re-run needs no hand-made step: the killed run
left STARTED is failed by it, the writer lock died with its holder, and LanceDB's
half-finished writes are not visible."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.defs.run_liveness import FULL_RUN_TAG

from .conftest import RANGE
from .harness import EndState, Run, copy_landing, end_state

pytestmark = pytest.mark.slow

# name -> (environment that makes the run stop inside a write, output line to kill at)
KILL_POINTS: dict[str, tuple[dict[str, str], str]] = {
    # Gong's raw rows are committed, the other sources' raw steps run next.
    "raw_ingestion": ({}, r"raw__gong_calls - \d+ files"),
    "mid_embedding": ({"CRASH_PAUSE_EMBEDDING": "1"}, r"crash-runner: paused embedding"),
    "mid_vector_upsert": ({"CRASH_PAUSE_AFTER_UPSERT": "1"}, r"crash-runner: paused after"),
    # Mentions committed, the transcripts' replace open (its DELETE done, no COMMIT).
    "tagging_writes": (
        {"CRASH_PAUSE_IN_TABLE": "gong_intelligence.call_transcripts"},
        r"crash-runner: paused inside",
    ),
    "kpi_rollups": (
        {"CRASH_PAUSE_IN_TABLE": "executive_intelligence.kpi_rollups"},
        r"crash-runner: paused inside",
    ),
}


def _runs(data: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        return list(instance.get_runs(filters=dg.RunsFilter(tags={FULL_RUN_TAG: "true"})))


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_run_then_rerun_ends_like_a_clean_run(
    point: str, landing: Path, clean: EndState, tmp_path: Path
) -> None:
    env, pattern = KILL_POINTS[point]
    data = tmp_path / "sophia"
    copy_landing(landing, data)

    killed = Run.start(data, RANGE, **env)
    killed.wait_for(pattern)
    killed.kill()
    assert killed.proc.returncode == -9
    assert '"success"' not in killed.output()  # it died before the end of the run

    rerun = Run.start(data, RANGE)
    assert rerun.finish() == 0, rerun.output()[-4000:]
    assert "marked failed" in rerun.output()  # the dead run, found and failed by itself

    state = end_state(data)
    assert state.duplicates() == {"documents": 0, "chunks": 0, "vectors": 0}
    assert state.documents == clean.documents
    assert state.chunks == clean.chunks
    assert state.vectors == clean.vectors  # no stale, no missing, same vector per id
    assert state.comparable_rows() == clean.comparable_rows()
    assert state.kpis == clean.kpis
    statuses = sorted(r.status.value for r in _runs(data))
    assert statuses == ["FAILURE", "SUCCESS"]  # nothing left STARTED
