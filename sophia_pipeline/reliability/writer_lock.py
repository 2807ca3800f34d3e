"""One writer per data directory: an advisory ``flock`` on ``<data dir>/.writer.lock``.

Two full runs on one data directory both read the empty vector manifest and both
``merge_insert`` the same ids into LanceDB (duplicates), and on a fresh directory both
create Dagster's run storage at once (``table run_tags already exists``). Every process
that writes the data directory's stores takes this lock first: ``sophia-pipeline run``
for its whole run, and the vector-index step for its writes (it also runs in runs the
daemon launches, which never pass through the CLI).

Why ``flock``: the kernel drops it when its holder dies, SIGKILL included, so a crashed
run never leaves a stale lock behind (the file stays; only its lock matters). The file
holds who has the lock (pid, host, purpose), for the waiting side's log line.

Re-entrant within a process: the CLI holds it while the in-process run's index step asks
for it again (a second ``flock`` on a new descriptor would wait on its own process).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".writer.lock"
_POLL_S = 0.2


class WriterLockTimeout(TimeoutError):
    """The lock stayed held by another process for the whole bounded wait."""


# path -> (descriptor, depth): the locks this process holds, for re-entry.
_held: dict[str, tuple[int, int]] = {}
_guard = threading.Lock()


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


def holder(data_dir: Path) -> str:
    """Who holds (or last held) the lock, as the file records it; '' when unknown."""
    try:
        info = json.loads(lock_path(data_dir).read_text() or "{}")
    except (OSError, ValueError):
        return ""
    if not isinstance(info, dict) or "pid" not in info:
        return ""
    return f"pid {info['pid']} on {info.get('host', '?')} ({info.get('purpose', '?')})"


def is_held(data_dir: Path) -> bool:
    """Whether some process holds the lock now (a probe: takes and drops it at once)."""
    path = lock_path(data_dir)
    if str(path) in _held:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock the probe took
    return False


@contextmanager
def writer_lock(
    data_dir: Path,
    purpose: str,
    timeout_s: float,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Holds the data directory's writer lock; waits at most ``timeout_s`` for it.

    ``on_wait`` is told once, before waiting, what the wait is for (who holds the lock).
    Raises ``WriterLockTimeout`` naming the holder when the wait runs out.
    """
    path = lock_path(data_dir)
    key = str(path)
    with _guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            _release(key)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, data_dir, purpose, timeout_s, on_wait)
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(
        fd,
        json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose}).encode(),
        0,
    )
    with _guard:
        _held[key] = (fd, 1)
    try:
        yield
    finally:
        _release(key)


def _acquire(
    fd: int,
    data_dir: Path,
    purpose: str,
    timeout_s: float,
    on_wait: Callable[[str], None] | None,
) -> None:
    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        who = holder(data_dir) or "another process"
        if time.monotonic() >= deadline:
            raise WriterLockTimeout(
                f"{purpose}: the data directory {data_dir} is locked by {who}; "
                f"waited {timeout_s:g} s (SOPHIA_LOCK_TIMEOUT_S). One writer at a time: "
                "wait for it to finish, or stop it."
            )
        if not told and on_wait is not None:
            on_wait(
                f"{purpose}: waiting up to {timeout_s:g} s for the data directory lock "
                f"({lock_path(data_dir)}), held by {who}"
            )
            told = True
        time.sleep(_POLL_S)


def _release(key: str) -> None:
    with _guard:
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
            return
        del _held[key]
    os.close(fd)  # closing the descriptor drops the flock
