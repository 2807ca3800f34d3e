"""The receiver's side of the landing store: group commit in front of a backend.

Each receiver process runs one writer thread. Requests queue their event and wait on a
future; the thread takes everything queued while the previous commit ran and hands it to
the backend as one group (one SQLite transaction and fsync, or one batch object on S3),
then resolves every future. Throughput scales with concurrency while every caller still
waits until its own event is durable, and only then does the receiver answer 2xx.

Dedup, durability and cursors are the backend's (``store/landing``): this module never
keeps a set of seen ids, so restarts cost nothing and several receivers may write to the
same SQLite file or bucket. Readers (``read_after``, ``count_after``, ``sources``) pass
straight through and never write.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sophia_pipeline.store.landing import (
    LandedEvent,
    LandingBackend,
    LandingError,
    LandingStoreClosedError,
    NewEvent,
    RetryLaterError,
    SQLiteLanding,
    UnstorablePayloadError,
    encode_record,
)
from sophia_pipeline.store.landing.base import check_source, utc_iso

log = logging.getLogger(__name__)

# After a failed commit the store reports not writable for this long (the Retry-After the
# receiver sends), then probes again: readiness neither flaps nor stays down for good.
DEFAULT_RECOVERY_PROBE_AFTER_S = 5.0
DEFAULT_MAX_BATCH_EVENTS = 1024

__all__ = [
    "LandedEvent",
    "LandingError",
    "LandingStore",
    "LandingStoreClosedError",
    "UnstorablePayloadError",
]


@dataclass(slots=True)
class _Pending:
    event: NewEvent
    future: concurrent.futures.Future[bool]


def _resolve(fut: concurrent.futures.Future[bool], value: bool | BaseException) -> None:
    # A caller that gave up (cancelled await) must not crash the writer thread.
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if isinstance(value, BaseException):
            fut.set_exception(value)
        else:
            fut.set_result(value)


class _Writer:
    def __init__(
        self, backend: LandingBackend, max_batch: int, on_batch: Callable[[int], None]
    ) -> None:
        self._backend = backend
        self._max_batch = max_batch
        self._on_batch = on_batch
        self.queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        # When the last commit failed (time.monotonic()); None while commits succeed.
        self.failed_at: float | None = None
        self._health_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="landing-writer", daemon=True)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self.queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            results: list[Any] = list(self._backend.land([p.event for p in batch]))
        except Exception as exc:
            log.exception("landing failed for a group of %d", len(batch))
            error = exc if isinstance(exc, LandingError) else LandingError(str(exc))
            results = [error] * len(batch)
        ok = True
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                # "Another replica is still landing it" is not a storage failure.
                ok = ok and isinstance(result, RetryLaterError)
            _resolve(pending.future, result)
        self.record(ok)
        self._on_batch(len(batch))

    def record(self, ok: bool) -> None:
        with self._health_lock:
            self.failed_at = None if ok else time.monotonic()

    def recovered(self, failed_at: float) -> None:
        """Clears the failure recorded at ``failed_at``; a newer one stays."""
        with self._health_lock:
            if self.failed_at == failed_at:
                self.failed_at = None


class LandingStore:
    """Durable, de-duplicating landing of webhook events, group-committed.

    ``root`` is a backend, or a folder for the SQLite backend. Writer methods start the
    writer thread lazily; :meth:`close` commits what is queued, then stops it.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | LandingBackend,
        *,
        max_batch_events: int = DEFAULT_MAX_BATCH_EVENTS,
        clock: Callable[[], float] = time.time,
        on_batch: Callable[[int], None] | None = None,
        recovery_probe_after_s: float = DEFAULT_RECOVERY_PROBE_AFTER_S,
    ) -> None:
        if isinstance(root, str | os.PathLike):
            self.backend: LandingBackend = SQLiteLanding(root)
        else:
            self.backend = root
        self.max_batch_events = max_batch_events
        self._clock = clock
        # Called by the writer thread with each group commit's size (for metrics).
        self.on_batch = on_batch
        self.recovery_probe_after_s = recovery_probe_after_s
        self._writer: _Writer | None = None
        self._state_lock = threading.Lock()

    # ---- readers -------------------------------------------------------------------

    def sources(self) -> list[str]:
        return self.backend.sources()

    def read_after(
        self, source: str, cursor: str | None, limit: int = 1000
    ) -> tuple[list[LandedEvent], str | None]:
        """Up to ``limit`` events landed after ``cursor`` (None: the oldest retained), and
        the cursor to pass next time (unchanged when nothing is new). Cursors are opaque,
        belong to one source, and resume exactly across restarts."""
        return self.backend.read_after(source, cursor, limit)

    def count_after(self, source: str, cursor: str | None) -> int:
        return self.backend.count_after(source, cursor)

    # ---- writer --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        w = self._writer
        return w is not None and w.thread.is_alive()

    def open(self) -> None:
        with self._state_lock:
            if self._writer is not None:
                return
            writer = _Writer(self.backend, self.max_batch_events, self._notify_batch)
            writer.thread.start()
            self._writer = writer

    def _notify_batch(self, size: int) -> None:
        callback = self.on_batch
        if callback is not None:
            with contextlib.suppress(Exception):
                callback(size)

    def close(self) -> None:
        """Commit everything already queued, then stop the writer."""
        with self._state_lock:
            writer, self._writer = self._writer, None
            if writer is None:
                return
            writer.queue.put(None)
        writer.thread.join()
        # Anything that slipped in behind the sentinel was never written.
        while True:
            try:
                item = writer.queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                _resolve(item.future, LandingStoreClosedError("landing store closed"))

    def __enter__(self) -> LandingStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(
        self,
        source: str,
        event_id: str,
        event_type: str,
        payload: Any,
        headers: Mapping[str, str],
    ) -> concurrent.futures.Future[bool]:
        """Queue an event; the future resolves (True landed / False duplicate) once durable."""
        check_source(source)
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("event_id must be a non-empty string")
        received_at = utc_iso(self._clock())
        record = encode_record(source, event_id, event_type, received_at, headers, payload)
        fut: concurrent.futures.Future[bool] = concurrent.futures.Future()
        if self._writer is None:
            self.open()
        with self._state_lock:
            writer = self._writer
            if writer is None:
                raise LandingStoreClosedError("landing store closed")
            writer.queue.put(
                _Pending(NewEvent(source, event_id, event_type, received_at, record), fut)
            )
        return fut

    def append(
        self,
        source: str,
        event_id: str,
        event_type: str,
        payload: Any,
        headers: Mapping[str, str],
    ) -> bool:
        """Land one event durably. False when ``event_id`` was already landed for ``source``."""
        return self.submit(source, event_id, event_type, payload, headers).result()

    async def append_async(
        self,
        source: str,
        event_id: str,
        event_type: str,
        payload: Any,
        headers: Mapping[str, str],
    ) -> bool:
        """:meth:`append` for the event loop: waits for durability without blocking it."""
        fut = self.submit(source, event_id, event_type, payload, headers)
        return await asyncio.wrap_future(fut)

    def is_writable(self) -> bool:
        """The writer is running and the storage takes writes (a probe, each call).

        After a failed commit: False for ``recovery_probe_after_s``, then the probe
        decides, so storage that works again is writable again without waiting for
        some event to succeed first.
        """
        w = self._writer
        if w is None or not w.thread.is_alive():
            return False
        failed_at = w.failed_at
        if failed_at is not None and time.monotonic() - failed_at < self.recovery_probe_after_s:
            return False
        if not self.backend.probe_writable():
            return False
        if failed_at is not None:
            w.recovered(failed_at)
        return True
