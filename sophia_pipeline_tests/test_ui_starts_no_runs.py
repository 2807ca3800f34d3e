"""Opening the UI (`dagster dev`: webserver and daemon) on a fresh demo starts no run
while automation is off (its default).

Turning it on is not tested here: the raw assets' condition is an hourly cron, so the
first automation run comes at the next full hour, not within a test's minutes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.sample.generator import generate
from sophia_pipeline.settings import load_settings
from sophia_pipeline_tests.conftest import free_port

# A minute of watching, by design, after `dagster dev` is up: minutes on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUIET_S = 60  # the minute: what a user sees after opening the UI


def wait_for(what: str, check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(2)


@pytest.fixture
def ui(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`dagster dev` as `make ui` starts it, on a freshly landed sample; DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    generate(load_settings().landing_dir)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = str(REPO)
    log = (tmp_path / "dagster_dev.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
        + ["-p", str(free_port())],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    try:
        yield home
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_no_run_within_a_minute_while_automation_is_off(ui: Path, tmp_path: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        # The daemon's asset daemon (which evaluates automation) is up and ticking.
        wait_for(
            "the daemon's heartbeats",
            lambda: "ASSET" in instance.get_daemon_heartbeats(),
            timeout=900,
        )
        time.sleep(QUIET_S)
        assert instance.get_runs() == [], (tmp_path / "dagster_dev.log").read_text()[-3000:]
