"""The data directory's writer lock: one holder at a time, a bounded wait that says what
it waits for, re-entry in the holder's process, and release when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sophia_pipeline.reliability.writer_lock import (
    WriterLockTimeout,
    is_held,
    writer_lock,
)

HOLDER = """
import sys, time
from pathlib import Path
from sophia_pipeline.reliability.writer_lock import writer_lock
with writer_lock(Path(sys.argv[1]), "test holder", 5):
    print("held", flush=True)
    time.sleep(600)
"""


def hold_in_child(data_dir: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_another_process_waits_bounded_and_is_told_who_holds_it(tmp_path: Path) -> None:
    child = hold_in_child(tmp_path)
    try:
        assert is_held(tmp_path)
        heard: list[str] = []
        with (
            pytest.raises(WriterLockTimeout, match=f"pid {child.pid}.*test holder"),
            writer_lock(tmp_path, "second writer", 0.5, on_wait=heard.append),
        ):
            pytest.fail("two holders at once")
        assert len(heard) == 1 and "waiting up to 0.5 s" in heard[0]
        assert f"pid {child.pid}" in heard[0]
    finally:
        child.kill()
        child.wait()


def test_sigkilled_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    child = hold_in_child(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    started = time.monotonic()
    with writer_lock(tmp_path, "next run", 30):
        assert time.monotonic() - started < 30
        assert is_held(tmp_path)
    assert not is_held(tmp_path)


def test_reentrant_in_the_holding_process(tmp_path: Path) -> None:
    with writer_lock(tmp_path, "run", 1):
        with writer_lock(tmp_path, "index step of the same run", 1):
            assert is_held(tmp_path)
        assert is_held(tmp_path)  # the inner exit kept the outer hold
    assert not is_held(tmp_path)
