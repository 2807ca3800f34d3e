"""Durable, append-only landing store for webhook events.

Layout (local folder backend)::

    <root>/.writer.lock                       flock held by the one writing process
    <root>/<source>/segment-000000000001.jsonl
    <root>/<source>/segment-000000000002.jsonl   ...

Each line is one JSON object ``{"id", "source", "event_type", "received_at", "headers",
"payload"}``, ASCII-only (``ensure_ascii``), so a line never contains a raw newline and
the byte offset after a ``\\n`` is always a line boundary.

Durability contract
    :meth:`LandingStore.append` returns only after the event's bytes were written and
    ``os.fsync``-ed (and, for a new segment, after the directory entry was fsync-ed).
    The receiver answers 2xx only after that. Concurrent appends are group-committed: a
    single writer thread drains everything queued while the previous fsync ran and
    commits it with one write + one fsync per source, so throughput scales with
    concurrency while every caller still waits for its own fsync.

Crash tolerance
    A SIGKILL mid-write can leave a *torn* last line (bytes with no trailing newline).
    Readers only ever consume newline-terminated lines, and a writer never appends to a
    segment it did not create in this process: opening the writer always starts a new
    segment, so a torn tail stays isolated at the end of a sealed segment, where
    readers skip it. A failed write or fsync truncates back to the last good size and
    abandons the segment for the same reason.

De-duplication
    Per source, by event id. The writer thread owns the seen-id set, so two concurrent
    requests with the same id cannot both land. The set is rebuilt from every retained
    segment when the writer opens, so dedup survives restarts; its window is therefore
    "everything still on disk". Pruning old segments (not done here) shrinks both.

Readers (:meth:`read_after`, :meth:`count_after`, :meth:`sources`) are read-only and
lock-free: they may run in another process (the Dagster sensors) while the receiver
writes. A cursor names a segment and the byte offset just past the last complete line
consumed; segments are never rewritten, so a cursor stays valid across rotations.

Storage seam
    All file access goes through :class:`SegmentBackend`. An object-storage backend
    (S3/GCS) cannot append to an object, so it would keep the open segment in a local
    write-ahead file (this backend) and upload each segment when it is sealed
    (``SegmentFile.close``), listing/reading sealed segments from the bucket and the open
    one from disk; or target a store with native appends (GCS compose, Azure append
    blobs, S3 Express). Nothing above the backend (cursors, dedup, group commit)
    changes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".jsonl"
LOCK_NAME = ".writer.lock"
DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_SEGMENT_AGE_S = 3600.0
# After a failed write the store reports not writable for this long (the Retry-After the
# receiver sends), then probes again: readiness neither flaps nor stays down for good.
DEFAULT_RECOVERY_PROBE_AFTER_S = 5.0
# The probe writes one page, as events do: a disk with a few bytes left still fails it.
_PROBE_BYTES = 4096
_READ_BLOCK = 1024 * 1024
_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SEGMENT_RE = re.compile(r"^segment-(\d{1,18})\.jsonl$")


class LandingError(RuntimeError):
    """An event could not be made durable; the caller must not acknowledge it."""


class LandingStoreLockedError(LandingError):
    """Another process already holds the writer lock for this landing root."""


class LandingStoreClosedError(LandingError):
    """The store's writer was closed."""


class UnstorablePayloadError(ValueError):
    """The payload cannot be serialised as strict JSON (NaN, too deeply nested, ...)."""


@dataclass(frozen=True, slots=True)
class LandedEvent:
    id: str
    source: str
    event_type: str
    received_at: str
    headers: Mapping[str, str]
    payload: Any
    # Position just past this event's line: committing it resumes after this event.
    cursor: str


# --------------------------------------------------------------------------- backend


class SegmentFile(Protocol):
    """An open, append-only segment owned by the writer."""

    @property
    def size(self) -> int: ...

    def append_durable(self, data: bytes) -> None:
        """Append all of ``data``; return only once it is on stable storage."""
        ...

    def truncate(self, size: int) -> None: ...

    def close(self) -> None: ...


class WriterLock(Protocol):
    def release(self) -> None: ...


class SegmentBackend(Protocol):
    """Where segments live. Reader methods must be side-effect free."""

    def list_sources(self) -> list[str]: ...

    def list_segments(self, source: str) -> list[int]:
        """Sequence numbers of the source's segments, ascending."""
        ...

    def read(self, source: str, seq: int, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset``; ``b""`` at the end or if it is gone."""
        ...

    def lock_writer(self) -> WriterLock: ...

    def create_segment(self, source: str, seq: int) -> SegmentFile:
        """Create a new, empty segment durably (the name survives a crash)."""
        ...

    def probe_writable(self) -> bool: ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def segment_name(seq: int) -> str:
    return f"{SEGMENT_PREFIX}{seq:012d}{SEGMENT_SUFFIX}"


class _LocalSegment:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def append_durable(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            self._size += written
            view = view[written:]
        os.fsync(self._fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)
        self._size = size

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class _LocalLock:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            os.close(self._fd)


class LocalFolderBackend:
    """Segments as files under ``root/<source>/``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def list_sources(self) -> list[str]:
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(e.name for e in entries if e.is_dir() and _SOURCE_RE.match(e.name))

    def list_segments(self, source: str) -> list[int]:
        try:
            names = os.listdir(self.root / source)
        except (FileNotFoundError, NotADirectoryError):
            return []
        seqs = [int(m.group(1)) for n in names if (m := _SEGMENT_RE.match(n))]
        return sorted(seqs)

    def read(self, source: str, seq: int, offset: int, size: int) -> bytes:
        try:
            with open(self.root / source / segment_name(seq), "rb") as f:
                f.seek(offset)
                return f.read(size)
        except FileNotFoundError:
            return b""

    def lock_writer(self) -> WriterLock:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LandingStoreLockedError(
                f"another process is already writing to the landing store at {self.root}"
            ) from None
        return _LocalLock(fd)

    def create_segment(self, source: str, seq: int) -> SegmentFile:
        directory = self.root / source
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            _fsync_dir(self.root)
        path = directory / segment_name(seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            _fsync_dir(directory)
        except OSError:
            os.close(fd)
            raise
        return _LocalSegment(fd)

    def probe_writable(self) -> bool:
        """Whether a durable write would succeed now: a page written and fsynced by the
        same code that appends events, then removed."""
        probe = self.root / f".probe-{os.getpid()}-{threading.get_ident()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            return False
        segment = _LocalSegment(fd)
        try:
            segment.append_durable(b"\n" * _PROBE_BYTES)
            return True
        except OSError:
            return False
        finally:
            segment.close()
            with contextlib.suppress(OSError):
                probe.unlink()


# --------------------------------------------------------------------------- cursors


def _encode_cursor(source: str, seq: int, offset: int) -> str:
    return f"{source}:{seq:012d}:{offset}"


def decode_cursor(source: str, cursor: str) -> tuple[int, int]:
    """The (segment number, byte offset just past the event) a cursor of ``source``
    names; ``ValueError`` for anything that is not one of its cursors."""
    parts = cursor.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[1:]):
        raise ValueError(f"not a landing-store cursor: {cursor!r}")
    if parts[0] != source:
        raise ValueError(f"cursor {cursor!r} belongs to source {parts[0]!r}, not {source!r}")
    return int(parts[1]), int(parts[2])


def _check_source(source: str) -> None:
    if not isinstance(source, str) or not _SOURCE_RE.match(source):
        raise ValueError(f"invalid source name {source!r} (lowercase letters, digits, _ and -)")


def _utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- writer


@dataclass(slots=True)
class _Pending:
    source: str
    event_id: str
    line: bytes
    future: concurrent.futures.Future[bool]


@dataclass(slots=True)
class _OpenSegment:
    seq: int
    file: SegmentFile
    opened_at: float = field(default_factory=time.monotonic)


def _resolve(fut: concurrent.futures.Future[bool], value: bool | BaseException) -> None:
    # A caller that gave up (cancelled await) must not crash the writer thread.
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if isinstance(value, BaseException):
            fut.set_exception(value)
        else:
            fut.set_result(value)


class _Writer:
    """The single writer: owns the lock, the open segments and the seen-id sets."""

    def __init__(
        self,
        backend: SegmentBackend,
        seen: dict[str, set[str]],
        lock: WriterLock,
        max_segment_bytes: int,
        max_segment_age_s: float,
        max_batch_events: int,
        on_batch: Callable[[int], None],
    ) -> None:
        self._backend = backend
        self._seen = seen
        self._lock = lock
        self._max_bytes = max_segment_bytes
        self._max_age = max_segment_age_s
        self._max_batch = max_batch_events
        self._on_batch = on_batch
        self._segments: dict[str, _OpenSegment] = {}
        self._last_seq: dict[str, int] = {}
        self.queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        # When the last commit failed (time.monotonic()); None while commits succeed.
        # Set by this thread, cleared by it or by a successful probe (is_writable).
        self._failed_at: float | None = None
        self._health_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="landing-writer", daemon=True)

    def _run(self) -> None:
        stop = False
        try:
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
                try:
                    self._commit(batch)
                except Exception as exc:
                    # Never leave a caller waiting forever on a bug in here.
                    log.exception("landing writer failed on a batch of %d", len(batch))
                    self._record(ok=False)
                    for p in batch:
                        _resolve(p.future, LandingError(f"landing writer failed: {exc}"))
        finally:
            for seg in self._segments.values():
                seg.file.close()
            self._segments.clear()
            self._lock.release()

    def _segment_for(self, source: str, incoming: int) -> _OpenSegment:
        seg = self._segments.get(source)
        if seg is not None:
            size = seg.file.size
            too_big = size > 0 and size + incoming > self._max_bytes
            too_old = time.monotonic() - seg.opened_at >= self._max_age
            if too_big or too_old:
                seg.file.close()
                del self._segments[source]
                seg = None
        if seg is None:
            if source not in self._last_seq:
                existing = self._backend.list_segments(source)
                self._last_seq[source] = existing[-1] if existing else 0
            # Always a fresh segment: never append after a possibly torn tail.
            seq = self._last_seq[source] + 1
            self._last_seq[source] = seq
            seg = _OpenSegment(seq, self._backend.create_segment(source, seq))
            self._segments[source] = seg
        return seg

    def _abandon(self, source: str, size_before: int | None) -> None:
        seg = self._segments.pop(source, None)
        if seg is None:
            return
        if size_before is not None:
            try:
                seg.file.truncate(size_before)
            except OSError:
                log.exception("could not truncate a failed segment; readers will skip its tail")
        seg.file.close()

    def _commit(self, batch: list[_Pending]) -> None:
        by_source: dict[str, list[_Pending]] = {}
        duplicates: list[_Pending] = []
        for item in batch:
            seen = self._seen.setdefault(item.source, set())
            if item.event_id in seen:
                duplicates.append(item)
            else:
                seen.add(item.event_id)
                by_source.setdefault(item.source, []).append(item)
        all_ok = True
        for source, items in by_source.items():
            data = b"".join(p.line for p in items)
            size_before: int | None = None
            try:
                seg = self._segment_for(source, len(data))
                size_before = seg.file.size
                seg.file.append_durable(data)
            except Exception as exc:
                all_ok = False
                log.exception("landing write failed for %d %s event(s)", len(items), source)
                self._abandon(source, size_before)
                seen = self._seen[source]
                for p in items:
                    seen.discard(p.event_id)
                    _resolve(p.future, LandingError(f"could not land {source} event: {exc}"))
                continue
            for p in items:
                _resolve(p.future, True)
        for p in duplicates:
            # A duplicate of an id whose first copy failed in this very batch was not
            # landed either; it must fail too, so the sender retries.
            if p.event_id in self._seen[p.source]:
                _resolve(p.future, False)
            else:
                _resolve(p.future, LandingError("original write failed; retry"))
        self._record(ok=all_ok)
        self._on_batch(len(batch))

    def _record(self, ok: bool) -> None:
        with self._health_lock:
            self._failed_at = None if ok else time.monotonic()

    @property
    def failed_at(self) -> float | None:
        return self._failed_at

    def recovered(self, failed_at: float) -> None:
        """Clears the failure recorded at ``failed_at``; a newer one stays."""
        with self._health_lock:
            if self._failed_at == failed_at:
                self._failed_at = None


# --------------------------------------------------------------------------- store


class LandingStore:
    """Append-only, durable, de-duplicating event log per source.

    Reader methods never write and may be used from any process. Writer methods
    (:meth:`open`, :meth:`append`, :meth:`append_async`, :meth:`close`) need the writer
    lock, which only one process can hold; :meth:`append` opens the writer lazily.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | SegmentBackend,
        *,
        max_segment_bytes: int = DEFAULT_MAX_SEGMENT_BYTES,
        max_segment_age_s: float = DEFAULT_MAX_SEGMENT_AGE_S,
        max_batch_events: int = 4096,
        clock: Callable[[], float] = time.time,
        on_batch: Callable[[int], None] | None = None,
        recovery_probe_after_s: float = DEFAULT_RECOVERY_PROBE_AFTER_S,
    ) -> None:
        if isinstance(root, str | os.PathLike):
            self.backend: SegmentBackend = LocalFolderBackend(root)
        else:
            self.backend = root
        self.max_segment_bytes = max_segment_bytes
        self.max_segment_age_s = max_segment_age_s
        self.max_batch_events = max_batch_events
        self._clock = clock
        # Called by the writer thread with each group commit's size (for metrics).
        self.on_batch = on_batch
        self._writer: _Writer | None = None
        self._state_lock = threading.Lock()
        self.recovery_probe_after_s = recovery_probe_after_s

    # ---- readers -----------------------------------------------------------------

    def sources(self) -> list[str]:
        return self.backend.list_sources()

    def _iter_lines(
        self, source: str, start: tuple[int, int] | None
    ) -> Iterator[tuple[int, int, bytes]]:
        """(segment, offset after the line, line) for each complete line after ``start``."""
        # List before reading: a segment that had a successor when listed was sealed
        # before we read it, so an unterminated tail in it is torn for good, not a
        # write in progress that we must wait for.
        segments = self.backend.list_segments(source)
        if not segments:
            return
        first_seq, first_offset = start if start is not None else (segments[0], 0)
        last_seq = segments[-1]
        for seq in segments:
            if seq < first_seq:
                continue
            pos = first_offset if seq == first_seq else 0
            buf = b""
            while True:
                chunk = self.backend.read(source, seq, pos + len(buf), _READ_BLOCK)
                if not chunk:
                    break
                buf += chunk
                consumed = 0
                while (nl := buf.find(b"\n", consumed)) >= 0:
                    yield seq, pos + nl + 1, buf[consumed:nl]
                    consumed = nl + 1
                buf = buf[consumed:]
                pos += consumed
            if buf and seq == last_seq:
                return  # a line still being written: stop before it

    @staticmethod
    def _parse_line(source: str, line: bytes, cursor: str) -> LandedEvent | None:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            return None
        headers = obj.get("headers")
        return LandedEvent(
            id=obj["id"],
            source=str(obj.get("source", source)),
            event_type=str(obj.get("event_type", "unknown")),
            received_at=str(obj.get("received_at", "")),
            headers=headers if isinstance(headers, dict) else {},
            payload=obj.get("payload"),
            cursor=cursor,
        )

    def read_after(
        self, source: str, cursor: str | None, limit: int = 1000
    ) -> tuple[list[LandedEvent], str | None]:
        """Up to ``limit`` events landed after ``cursor`` (``None``: from the start).

        Returns the events and the cursor to pass next time: the position just past the
        last line consumed (unchanged when there was nothing new). Corrupt lines, which
        this writer never produces but a damaged disk might, are skipped and passed.

        Cursors are opaque to callers (today ``<source>:<segment seq>:<byte offset>``),
        belong to one source, and never go stale: segments are append-only and never
        renamed, so a cursor saved before a rotation or a restart resumes exactly. A
        sensor that commits ``events[-1].cursor`` only after its run is launched gets
        at-least-once delivery; the event ``id`` makes a good ``run_key``.
        """
        _check_source(source)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        start = decode_cursor(source, cursor) if cursor is not None else None
        events: list[LandedEvent] = []
        new_cursor = cursor
        for seq, end, line in self._iter_lines(source, start):
            new_cursor = _encode_cursor(source, seq, end)
            event = self._parse_line(source, line, new_cursor)
            if event is None:
                log.warning("skipping a corrupt landing line in %s segment %d", source, seq)
                continue
            events.append(event)
            if len(events) >= limit:
                break
        return events, new_cursor

    def count_after(self, source: str, cursor: str | None) -> int:
        """How many complete lines (events) were landed after ``cursor``."""
        _check_source(source)
        start = decode_cursor(source, cursor) if cursor is not None else None
        segments = self.backend.list_segments(source)
        if not segments:
            return 0
        first_seq, first_offset = start if start is not None else (segments[0], 0)
        total = 0
        for seq in segments:
            if seq < first_seq:
                continue
            pos = first_offset if seq == first_seq else 0
            while chunk := self.backend.read(source, seq, pos, _READ_BLOCK):
                total += chunk.count(b"\n")
                pos += len(chunk)
        return total

    # ---- writer ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        w = self._writer
        return w is not None and w.thread.is_alive()

    def _rebuild_seen(self) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        for source in self.backend.list_sources():
            ids = seen.setdefault(source, set())
            for seq, end, line in self._iter_lines(source, None):
                event = self._parse_line(source, line, _encode_cursor(source, seq, end))
                if event is not None:
                    ids.add(event.id)
        return seen

    def open(self) -> None:
        """Take the writer lock, rebuild the dedup index and start the writer thread."""
        with self._state_lock:
            if self._writer is not None:
                return
            lock = self.backend.lock_writer()
            try:
                started = time.monotonic()
                seen = self._rebuild_seen()
                log.info(
                    "landing store opened",
                    extra={
                        "fields": {
                            "known_ids": sum(len(s) for s in seen.values()),
                            "rebuild_ms": round((time.monotonic() - started) * 1000, 1),
                        }
                    },
                )
            except BaseException:
                lock.release()
                raise
            writer = _Writer(
                self.backend,
                seen,
                lock,
                self.max_segment_bytes,
                self.max_segment_age_s,
                self.max_batch_events,
                self._notify_batch,
            )
            writer.thread.start()
            self._writer = writer

    def _notify_batch(self, size: int) -> None:
        callback = self.on_batch
        if callback is not None:
            with contextlib.suppress(Exception):
                callback(size)

    def close(self) -> None:
        """Commit everything already queued, then stop the writer and release the lock."""
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

    def _line(
        self,
        source: str,
        event_id: str,
        event_type: str,
        payload: Any,
        headers: Mapping[str, str],
    ) -> bytes:
        record = {
            "id": event_id,
            "source": source,
            "event_type": event_type,
            "received_at": _utc_iso(self._clock()),
            "headers": dict(headers),
            "payload": payload,
        }
        # ensure_ascii keeps lines newline-free and valid UTF-8 whatever the payload
        # holds (lone surrogates included); allow_nan=False keeps them strict JSON.
        try:
            text = json.dumps(record, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError) as exc:
            raise UnstorablePayloadError(f"payload cannot be stored as JSON: {exc}") from None
        return text.encode("ascii") + b"\n"

    def submit(
        self,
        source: str,
        event_id: str,
        event_type: str,
        payload: Any,
        headers: Mapping[str, str],
    ) -> concurrent.futures.Future[bool]:
        """Queue an event; the future resolves (True landed / False duplicate) once durable."""
        _check_source(source)
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("event_id must be a non-empty string")
        line = self._line(source, event_id, event_type, payload, headers)
        fut: concurrent.futures.Future[bool] = concurrent.futures.Future()
        if self._writer is None:
            self.open()
        with self._state_lock:
            writer = self._writer
            if writer is None:
                raise LandingStoreClosedError("landing store closed")
            writer.queue.put(_Pending(source, event_id, line, fut))
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
        """:meth:`append` for the event loop: waits for the fsync without blocking it."""
        if self._writer is None:
            await asyncio.to_thread(self.open)
        fut = self.submit(source, event_id, event_type, payload, headers)
        return await asyncio.wrap_future(fut)

    def is_writable(self) -> bool:
        """The writer is running and the storage takes writes (a probe, each call).

        After a failed commit: False for ``recovery_probe_after_s``, then the probe
        decides, so a disk that has space again is writable again without waiting for
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
