"""Telling a dead run from a live one.

Dagster's default run launcher cannot check a run worker's health, so run monitoring
never fails a run whose process was SIGKILLed and run retries never fire: the run stays
STARTED for good, and whatever waits for "the run in flight" (a webhook sensor, the next
``sophia-pipeline run``) would wait for ever. So a run we start in-process records its
owner in its tags (pid, the pid's start time, host), and whoever waits first fails the
runs whose owner is gone, through the instance's ``report_run_failed`` (the run's event
log says why). The start time guards against a recycled pid; a run owned by another
host is never judged from here.

Runs the daemon launches carry no owner tags (their worker is spawned by Dagster's code
server): the webhook sensors' batch runs carry a max-runtime tag instead
(``defs/webhook_sensors.py``), so the daemon's run monitoring fails a dead one after
that bound; a launcher that checks worker health (Kubernetes) does it at once.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping

import dagster as dg

# Marks the runs of `sophia-pipeline run` (every asset, one run, in the CLI's process):
# webhook sensors wait for them as for their own batches.
FULL_RUN_TAG = "sophia/full_run"
PID_TAG = "sophia/pid"
PID_START_TAG = "sophia/pid_start"
HOST_TAG = "sophia/host"

# Statuses of a run whose worker should be alive. QUEUED is left out: a queued run has
# no worker yet, and the queue's daemon owns it.
WORKER_STATUSES = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def process_start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, ``/proc/<pid>/stat`` field 22),
    or None when no such process exists."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def owner_tags() -> dict[str, str]:
    """Tags naming this process as the run's worker."""
    pid = os.getpid()
    return {
        PID_TAG: str(pid),
        PID_START_TAG: process_start_ticks(pid) or "",
        HOST_TAG: socket.gethostname(),
    }


def worker_is_dead(tags: Mapping[str, str]) -> bool:
    """True only when the run's recorded worker is certainly gone: same host, and no
    process with that pid and start time. Runs without owner tags: False (unknown)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return False
    try:
        pid = int(tags[PID_TAG])
    except ValueError:
        return False
    started = process_start_ticks(pid)
    if started is None:
        return True
    recorded = tags.get(PID_START_TAG) or ""
    return bool(recorded) and started != recorded  # the pid now belongs to another process


def fail_dead_runs(
    instance: dg.DagsterInstance, log: Callable[[str], None] | None = None
) -> list[str]:
    """Marks FAILURE every run left starting/started/canceling by a dead worker of this
    host; returns their ids."""
    failed: list[str] = []
    for run in instance.get_runs(
        filters=dg.RunsFilter(statuses=WORKER_STATUSES, tags={HOST_TAG: socket.gethostname()})
    ):
        if not worker_is_dead(run.tags):
            continue
        message = (
            f"run worker (pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) is gone: "
            "the process died without ending the run (killed?); marked failed"
        )
        instance.report_run_failed(run, message=message)
        failed.append(run.run_id)
        if log is not None:
            log(f"run {run.run_id}: {message}")
    return failed


class RunsInFlightTimeout(TimeoutError):
    """Live runs kept writing the data directory for the whole bounded wait."""


def wait_for_runs_in_flight(
    instance: dg.DagsterInstance,
    timeout_s: float,
    log: Callable[[str], None],
    poll_s: float = 1.0,
) -> None:
    """Waits (at most ``timeout_s``) until no run of this instance has a live worker,
    failing the dead ones first; ``log`` hears once what the wait is for."""
    import time

    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        fail_dead_runs(instance, log)
        live = list(instance.get_runs(filters=dg.RunsFilter(statuses=WORKER_STATUSES), limit=5))
        if not live:
            return
        names = ", ".join(f"{r.run_id} ({r.status.value})" for r in live)
        if time.monotonic() >= deadline:
            raise RunsInFlightTimeout(
                f"runs still in flight on this data directory after {timeout_s:g} s "
                f"(SOPHIA_LOCK_TIMEOUT_S): {names}. Wait for them, or terminate them in the UI."
            )
        if not told:
            log(f"waiting up to {timeout_s:g} s for runs in flight to finish: {names}")
            told = True
        time.sleep(poll_s)
