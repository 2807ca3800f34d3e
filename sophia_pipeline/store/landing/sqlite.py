"""The landing store for one machine: one SQLite database in WAL mode.

``<root>/landing.sqlite3`` holds one table of events. What each promise rests on:

- durable before the 2xx: ``synchronous=FULL``, so a committed transaction is fsynced
  (WAL file) before ``COMMIT`` returns; one transaction per group commit, so a busy
  receiver pays one fsync for many events;
- dedup that persists: ``UNIQUE(source, event_id)`` and ``ON CONFLICT DO NOTHING``; the
  database decides, so several receiver processes on the same machine may share the file
  (SQLite serialises their write transactions) without missing each other's ids;
- cursors: ``seq INTEGER PRIMARY KEY AUTOINCREMENT`` never reuses a number, even after a
  prune, and write transactions commit one at a time, so numbers become visible in
  increasing order: ``seq > cursor`` never skips or repeats an event;
- pruning deletes rows at or before the consumed cursor that are older than the
  retention window; the space goes back to SQLite's free list and is reused.

A folder still holding the old segment-file format (``<source>/segment-*.jsonl``) is
refused with :class:`LegacyLandingError`, not read: this version does not migrate it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .base import (
    LandedEvent,
    LandingError,
    LegacyLandingError,
    NewEvent,
    check_limit,
    check_source,
    decode_record,
    utc_iso,
)

DB_NAME = "landing.sqlite3"
_PROBE_BYTES = 4096

_SCHEMA = """
CREATE TABLE IF NOT EXISTS landing_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    received_at TEXT NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (source, event_id)
);
CREATE INDEX IF NOT EXISTS landing_events_by_source ON landing_events (source, seq);
"""
_INSERT = (
    "INSERT INTO landing_events (source, event_id, event_type, received_at, record) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, event_id) DO NOTHING"
)
_READ = "SELECT seq, record FROM landing_events WHERE source = ? AND seq > ? ORDER BY seq LIMIT ?"
_COUNT = "SELECT count(*) FROM landing_events WHERE source = ? AND seq > ?"
_SOURCES = "SELECT DISTINCT source FROM landing_events ORDER BY source"
_PRUNE = "DELETE FROM landing_events WHERE source = ? AND seq <= ? AND received_at < ?"


def encode_cursor(source: str, seq: int) -> str:
    return f"{source}:{seq}"


def decode_cursor(source: str, cursor: str) -> int:
    """The sequence number a cursor of ``source`` names; ValueError for anything else,
    with a hint when it is a cursor of the old segment-file store."""
    parts = cursor.split(":")
    if len(parts) == 3 and all(p.isascii() and p.isdigit() for p in parts[1:]):
        raise ValueError(
            f"cursor {cursor!r} belongs to the old segment-file landing store, "
            "which this version no longer reads; reset the sensor's cursor"
        )
    if len(parts) != 2 or not (parts[1].isascii() and parts[1].isdigit()):
        raise ValueError(f"not a landing-store cursor: {cursor!r}")
    if parts[0] != source:
        raise ValueError(f"cursor {cursor!r} belongs to source {parts[0]!r}, not {source!r}")
    return int(parts[1])


def legacy_layout(root: Path) -> list[Path]:
    """Segment files of the old format under ``root`` (empty when there are none)."""
    try:
        subdirs = [p for p in root.iterdir() if p.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(f for d in subdirs for f in d.glob("segment-*.jsonl"))


class SQLiteLanding:
    """Events in ``<root>/landing.sqlite3``; see the module docstring."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.path = self.root / DB_NAME
        old = legacy_layout(self.root)
        if old:
            raise LegacyLandingError(
                f"{self.root} holds webhook events in the old segment-file format "
                f"({old[0].relative_to(self.root)} and {len(old) - 1} more), which this "
                "version does not read. Let the sensors drain it with the previous version, "
                "or move the folder away (its events will not be loaded), then start again."
            )
        self._lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    # ---- connections ------------------------------------------------------------

    def _connect(self, uri: str) -> sqlite3.Connection:
        # Autocommit (isolation_level=None): transactions are explicit, and every read
        # outside one sees the latest commit. One lock guards each connection.
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    def _writer_conn(self) -> sqlite3.Connection:
        if self._writer is None:
            self.root.mkdir(parents=True, exist_ok=True)
            conn = self._connect(f"file:{self.path}?mode=rwc")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: the WAL is fsynced at every commit (NORMAL would only fsync at
            # checkpoints, and a power cut could lose acknowledged events).
            conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_SCHEMA)
            self._writer = conn
        return self._writer

    def _reader_conn(self) -> sqlite3.Connection | None:
        """A connection for reading, or None while no database exists (a reader never
        creates one)."""
        if self._reader is None:
            if not self.path.exists():
                return None
            conn = self._connect(f"file:{self.path}?mode=rw")
            conn.execute("PRAGMA query_only = 1")
            self._reader = conn
        return self._reader

    # ---- writes -----------------------------------------------------------------

    def land(self, group: Sequence[NewEvent]) -> list[bool]:
        for event in group:
            check_source(event.source)
        with self._lock:
            try:
                conn = self._writer_conn()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    landed = [
                        conn.execute(
                            _INSERT,
                            (e.source, e.event_id, e.event_type, e.received_at, e.record),
                        ).rowcount
                        == 1
                        for e in group
                    ]
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                # A failed connection may be in any state: start from a fresh one.
                self._drop_writer()
                raise LandingError(f"could not land {len(group)} event(s): {exc}") from exc
        return landed

    def prune(self, source: str, consumed: str, older_than: datetime) -> int:
        check_source(source)
        seq = decode_cursor(source, consumed)
        with self._lock:
            conn = self._writer_conn()
            deleted = conn.execute(_PRUNE, (source, seq, utc_iso(older_than.timestamp()))).rowcount
        return int(deleted)

    def probe_writable(self) -> bool:
        """Whether a durable write would succeed now: a page written and fsynced next to
        the database (a disk with a few bytes left fails it, as a commit would)."""
        probe = self.root / f".probe-{os.getpid()}-{threading.get_ident()}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            return False
        try:
            os.write(fd, b"\n" * _PROBE_BYTES)
            os.fsync(fd)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                probe.unlink()

    def _drop_writer(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()
            self._writer = None

    def close(self) -> None:
        with self._lock:
            self._drop_writer()
            if self._reader is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._reader.close()
                self._reader = None

    # ---- reads ------------------------------------------------------------------

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock:
            conn = self._reader_conn()
            if conn is None:
                return []
            try:
                return list(conn.execute(sql, params).fetchall())
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []  # the file exists, its writer has not created the table yet
                raise

    def read_after(
        self, source: str, cursor: str | None, limit: int = 1000
    ) -> tuple[list[LandedEvent], str | None]:
        check_source(source)
        check_limit(limit)
        after = decode_cursor(source, cursor) if cursor is not None else 0
        events: list[LandedEvent] = []
        new_cursor = cursor
        for seq, record in self._rows(_READ, (source, after, limit)):
            assert isinstance(seq, int) and isinstance(record, str)
            new_cursor = encode_cursor(source, seq)
            event = decode_record(source, record, new_cursor, f"{self.path}#{source}", seq)
            if event is not None:
                events.append(event)
        return events, new_cursor

    def count_after(self, source: str, cursor: str | None) -> int:
        check_source(source)
        after = decode_cursor(source, cursor) if cursor is not None else 0
        rows = self._rows(_COUNT, (source, after))
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    def sources(self) -> list[str]:
        return [str(r[0]) for r in self._rows(_SOURCES, ())]
