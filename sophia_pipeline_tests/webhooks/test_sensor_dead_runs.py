"""A run left STARTED by a dead worker no longer blocks a webhook source for good
(issue 13: the default run launcher cannot tell, so the sensor skipped every tick)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg

from sophia_pipeline.defs.run_liveness import FULL_RUN_TAG, owner_tags
from sophia_pipeline.settings import load_settings
from sophia_pipeline_tests.webhooks.test_batches import land, slack_message
from sophia_pipeline_tests.webhooks.test_sensors import small_batches, tick  # noqa: F401


def dead_pid_tags() -> dict[str, str]:
    """Owner tags of a process that has exited (this host, its real pid and start time)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sophia_pipeline.defs.run_liveness import owner_tags; import json; "
            "print(json.dumps(owner_tags()))",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = child.communicate(timeout=120)
    import json

    return dict(json.loads(out))


def started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    return instance.add_run(
        dg.DagsterRun(
            job_name="__ASSET_JOB",
            run_id=str(uuid.uuid4()),
            tags={FULL_RUN_TAG: "true", **tags},
            status=dg.DagsterRunStatus.STARTED,
        )
    )


def test_a_full_run_killed_while_started_is_failed_and_the_source_flows(
    data_dir: Path,
    small_batches: dg.Definitions,  # noqa: F811
) -> None:
    d, instance = small_batches, dg.DagsterInstance.ephemeral()
    land(load_settings().webhook_landing_dir, [("slack", slack_message("Ev1", "hello"), None)])
    dead = started_run(instance, dead_pid_tags())

    result = tick(d, instance, "slack", None)

    assert len(result.run_requests) == 1, result.skip_reason
    run = instance.get_run_by_id(dead.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE


def test_a_live_full_run_holds_the_sources_back(
    data_dir: Path,
    small_batches: dg.Definitions,  # noqa: F811
) -> None:
    d, instance = small_batches, dg.DagsterInstance.ephemeral()
    land(load_settings().webhook_landing_dir, [("slack", slack_message("Ev1", "hello"), None)])
    live = started_run(instance, owner_tags())  # this very process: alive

    result = tick(d, instance, "slack", None)

    assert result.run_requests == [] and live.run_id in str(result.skip_reason)
    run = instance.get_run_by_id(live.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.STARTED
