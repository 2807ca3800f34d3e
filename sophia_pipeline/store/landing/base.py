"""The landing store's contract: what a backend promises the receiver and the sensors.

A backend keeps webhook deliveries per source, in landing order, behind opaque cursors:

- ``land(group)`` makes a group of events durable (on stable storage, or acknowledged by
  the object store) before it returns, and de-duplicates on ``(source, event_id)``
  against everything it still retains, across processes and replicas. It returns one
  flag per event: True landed now, False already landed. It raises ``LandingError`` when
  nothing of the failed part may be acknowledged.
- ``read_after(source, cursor, limit)`` returns events strictly after ``cursor`` (None:
  from the oldest retained) and the cursor to pass next time; a cursor never skips or
  repeats an event, across restarts, rotations and prunes.
- ``count_after`` counts what ``read_after`` would eventually return.
- ``prune(source, consumed, older_than)`` deletes what the source's consumer has
  consumed (at or before ``consumed``) *and* was landed before ``older_than``. Dedup of
  a pruned id is gone with it: the retention window is the dedup window.

No Dagster and no HTTP here; the group commit (one writer thread per process, callers
waiting on futures) is the receiver's, in ``webhooks/landing.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class LandingError(RuntimeError):
    """An event could not be made durable; the caller must not acknowledge it."""


class RetryLaterError(LandingError):
    """Another receiver claimed the event and is still landing it: not landed yet."""


class LandingStoreClosedError(LandingError):
    """The store's writer was closed."""


class LegacyLandingError(LandingError):
    """The landing folder holds the segment-file format this version no longer reads."""


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
    # Position just past this event: reading after it resumes with the next one.
    cursor: str
    # Where an operator finds the event (the database and sequence number, or the
    # object key and 1-based line): what dead letters point at.
    location: str = ""
    line_no: int = 0


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to land; ``record`` is its canonical JSON line (see :func:`encode_record`)."""

    source: str
    event_id: str
    event_type: str
    received_at: str
    record: str


class LandingBackend(Protocol):
    """Where landed events live. Read methods never create or change anything."""

    @property
    def location(self) -> str:
        """A human-readable address (for logs and the sensors' descriptions)."""
        ...

    def land(self, group: Sequence[NewEvent]) -> Sequence[bool | LandingError]:
        """One entry per event: True landed now, False landed before, or the error that
        kept it from landing (then it must not be acknowledged)."""
        ...

    def read_after(
        self, source: str, cursor: str | None, limit: int = 1000
    ) -> tuple[list[LandedEvent], str | None]: ...

    def count_after(self, source: str, cursor: str | None) -> int: ...

    def sources(self) -> list[str]: ...

    def prune(self, source: str, consumed: str, older_than: datetime) -> int:
        """Delete the source's events at or before ``consumed`` landed before
        ``older_than``; returns how many events (or objects) went."""
        ...

    def probe_writable(self) -> bool: ...

    def close(self) -> None: ...


def check_source(source: str) -> None:
    if not isinstance(source, str) or not _SOURCE_RE.match(source):
        raise ValueError(f"invalid source name {source!r} (lowercase letters, digits, _ and -)")


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def encode_record(
    source: str,
    event_id: str,
    event_type: str,
    received_at: str,
    headers: Mapping[str, str],
    payload: Any,
) -> str:
    """The event as one line of strict, ASCII-only JSON (``ensure_ascii`` keeps lone
    surrogates storable and the line free of raw newlines)."""
    record = {
        "id": event_id,
        "source": source,
        "event_type": event_type,
        "received_at": received_at,
        "headers": dict(headers),
        "payload": payload,
    }
    try:
        return json.dumps(record, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise UnstorablePayloadError(f"payload cannot be stored as JSON: {exc}") from None


def decode_record(
    source: str, line: str | bytes, cursor: str, location: str, line_no: int
) -> LandedEvent | None:
    """A stored line back as an event; None for a line that is not one (a damaged
    object or row is skipped and passed, never a reason to stop)."""
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
        location=location,
        line_no=line_no,
    )
