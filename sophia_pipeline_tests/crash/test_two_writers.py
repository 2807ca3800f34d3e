"""Two writers on one data directory: two ``sophia-pipeline run`` at once, and a run
while a sensor-requested run is in flight. One waits (bounded, saying for what) or fails
with a clear message; the stores are never corrupted and the end state is a clean run's
(issue 13: both merged the same ids into LanceDB, 1,422 rows for 711 ids; on a fresh
directory the second died creating Dagster's run storage)."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.webhooks.batches import SOURCE_TAG

from .conftest import RANGE
from .harness import EndState, Run, copy_landing, end_state

pytestmark = pytest.mark.slow


def test_two_runs_at_once_on_a_fresh_data_dir(
    landing: Path, clean: EndState, tmp_path: Path
) -> None:
    data = tmp_path / "sophia"
    copy_landing(landing, data)
    first = Run.start(data, RANGE)
    second = Run.start(data, RANGE)

    assert first.finish() == 0, first.output()[-4000:]
    assert second.finish() == 0, second.output()[-4000:]

    waited = [r for r in (first, second) if "waiting up to" in r.output()]
    assert len(waited) == 1  # the one that came second said what it waited for
    assert "for the data directory lock" in waited[0].output()
    state = end_state(data)
    assert state.duplicates() == {"documents": 0, "chunks": 0, "vectors": 0}
    assert state.vectors == clean.vectors
    assert state.chunks == clean.chunks and state.documents == clean.documents
    assert state.comparable_rows() == clean.comparable_rows()
    assert state.kpis == clean.kpis


def test_a_run_while_a_sensor_run_is_in_flight_waits_bounded_then_says_which(
    tmp_path: Path, landing: Path
) -> None:
    data = tmp_path / "sophia"
    copy_landing(landing, data)
    # A webhook batch's run, launched by the daemon, still going (no owner tags: its
    # worker belongs to Dagster's code server, so nothing here may judge it dead).
    (data / "dagster_home").mkdir(parents=True)
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        in_flight = instance.add_run(
            dg.DagsterRun(
                job_name="__ASSET_JOB",
                run_id=str(uuid.uuid4()),
                tags={SOURCE_TAG: "slack"},
                status=dg.DagsterRunStatus.STARTED,
            )
        )

    run = Run.start(data, RANGE, SOPHIA_LOCK_TIMEOUT_S="3")

    assert run.finish() == 1
    out = run.output()
    assert f"waiting up to 3 s for runs in flight to finish: {in_flight.run_id}" in out
    assert "runs still in flight on this data directory after 3 s" in out
    assert "Traceback" not in out
    assert not (data / "warehouse.duckdb").exists()  # nothing written meanwhile
