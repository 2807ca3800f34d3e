"""Webhook batches: which landed events one sensor-requested run loads, and how a landed
delivery becomes the record the raw layer stores.

The webhook sensors (``defs/webhook_sensors.py``) cut each source's landing log into
batches of consecutive events, one run per batch, and name a batch by its two cursors so
that a re-evaluated tick asks for the same run again (same ``run_key``) instead of a new
one. The batch travels to the raw asset in the run's tags; the raw asset reads exactly
those events back with :func:`webhook_records`. Both sides convert events with the same
code, so the partition days the sensor asks for are the days the records land in.

Conversion per source:

- Slack: the landed payload *is* an Events API envelope (the landing-file shape), parsed
  as is; its day is the UTC day of the message ``ts``.
- GitHub: a webhook body (``{action, repository, sender, ...}``, event name in the
  ``X-GitHub-Event`` header) is rewritten into the events-API shape the GitHub source
  parses (``id``, ``type``, ``actor``, ``repo``, ``payload``, ``created_at``); its day is
  the UTC day of ``created_at`` (when the receiver got it).

An event that cannot become a valid record comes back as a ``Rejected`` naming the
event, the segment file and its line, for the dead-letter table. No Dagster here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sophia_pipeline.sources import slack
from sophia_pipeline.sources.landing import Accepted, Rejected, canonical_json
from sophia_pipeline.sources.registry import SourceSpec
from sophia_pipeline.webhooks.landing import LandedEvent, LandingStore, _decode_cursor, segment_name

TAG_PREFIX = "sophia/webhook"
SOURCE_TAG = f"{TAG_PREFIX}_source"
FROM_TAG = f"{TAG_PREFIX}_from"
TO_TAG = f"{TAG_PREFIX}_to"
SIZE_TAG = f"{TAG_PREFIX}_size"

# The sources the receiver lands and a sensor drains.
WEBHOOK_SOURCES = ("slack", "github")

_READ_LIMIT = 1000
_COUNT_BLOCK = 1024 * 1024
_GITHUB_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_GITHUB_TYPES = {
    "push": "PushEvent",
    "pull_request": "PullRequestEvent",
    "issues": "IssuesEvent",
    "issue_comment": "IssueCommentEvent",
}


class BatchNotFoundError(LookupError):
    """The landing store no longer holds the batch a run was asked to load."""


@dataclass(frozen=True)
class WebhookBatch:
    """Landed events of one source strictly after ``from_cursor`` (``None``: from the
    start) up to and including the event whose cursor is ``to_cursor``."""

    source: str
    from_cursor: str | None
    to_cursor: str
    # How many events the batch holds: bounds the read-back, and a mismatch is an error
    # rather than a silently different batch. None for tags written before it existed.
    size: int | None = None
    # The UTC days its records belong to (the run's partition range); only the sensor
    # needs them, and the run carries them as Dagster's own partition-range tags.
    first_day: date | None = field(default=None, compare=False)
    last_day: date | None = field(default=None, compare=False)

    @property
    def run_key(self) -> str:
        return f"{self.source}:{self.from_cursor or 'start'}->{self.to_cursor}"

    def to_tags(self) -> dict[str, str]:
        tags = {
            SOURCE_TAG: self.source,
            FROM_TAG: self.from_cursor or "",
            TO_TAG: self.to_cursor,
        }
        if self.size is not None:
            tags[SIZE_TAG] = str(self.size)
        return tags

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], source: str) -> WebhookBatch | None:
        if tags.get(SOURCE_TAG) != source:
            return None
        size = tags.get(SIZE_TAG, "")
        return cls(
            source,
            tags.get(FROM_TAG) or None,
            tags[TO_TAG],
            int(size) if size.isdigit() else None,
        )


# --------------------------------------------------------------------------- conversion


def github_event_name(event: LandedEvent) -> str | None:
    """``push`` for ``push`` / ``issues`` for ``issues.opened``; the header when the
    receiver did not recognise the event and landed it as ``unknown``."""
    name = event.event_type.split(".", 1)[0]
    if name == "unknown":
        name = str(event.headers.get("x-github-event", ""))
    return name if _GITHUB_EVENT_RE.match(name) else None


def events_api_type(name: str) -> str:
    """The events-API ``type`` of a webhook event name (``pull_request_review`` ->
    ``PullRequestReviewEvent``, GitHub's own naming)."""
    return _GITHUB_TYPES.get(name) or "".join(p.capitalize() for p in name.split("_")) + "Event"


def github_event_id(delivery_id: str) -> str:
    """A stable event id for a webhook delivery: a redelivery keeps its GUID, so it keeps
    its id; the prefix keeps it apart from the events API's numeric ids."""
    return f"delivery-{delivery_id}"


def _actor(sender: Any) -> Any:
    if not isinstance(sender, dict):
        return sender  # left for validation to name
    return {
        "id": sender.get("id"),
        "login": sender.get("login"),
        "display_login": sender.get("login"),
        "url": sender.get("url"),
        "avatar_url": sender.get("avatar_url"),
    }


def _repo(repository: Any) -> Any:
    if not isinstance(repository, dict):
        return repository
    return {
        "id": repository.get("id"),
        "name": repository.get("full_name"),
        "url": repository.get("url"),
    }


def _changed_files(commits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Files the push touched, in commit order: the last commit's verdict wins, except
    that a file added and then modified in one push is still new."""
    status: dict[str, str] = {}
    for c in commits:
        for kind, paths in (
            ("added", c.get("added")),
            ("modified", c.get("modified")),
            ("removed", c.get("removed")),
        ):
            for path in paths or []:
                if not isinstance(path, str):
                    continue
                if kind == "modified" and status.get(path) == "added":
                    continue
                status[path] = kind
    return [{"filename": p, "status": s} for p, s in status.items()]


def _push_payload(body: dict[str, Any]) -> dict[str, Any]:
    commits = [c for c in body.get("commits") or [] if isinstance(c, dict)]
    repository = body.get("repository")
    if not isinstance(repository, dict):
        repository = {}
    default_branch = repository.get("default_branch")
    # A webhook lists changed paths without their content, so only removals say anything
    # about the indexed file; and file documents carry no branch, so a removal on a
    # feature branch must not tombstone the default branch's file.
    on_default = bool(default_branch) and body.get("ref") == f"refs/heads/{default_branch}"
    return {
        **body,
        "head": body.get("after"),
        "size": len(commits),
        "distinct_size": sum(1 for c in commits if c.get("distinct", True)),
        "commits": [
            {
                "sha": c.get("id"),
                "author": {
                    "name": (c.get("author") or {}).get("name"),
                    "email": (c.get("author") or {}).get("email"),
                },
                "message": c.get("message") or "",
                "distinct": c.get("distinct", True),
                "url": c.get("url"),
            }
            for c in commits
        ],
        "files": _changed_files(commits) if on_default else [],
    }


def github_record(event: LandedEvent) -> dict[str, Any]:
    """A landed GitHub webhook delivery in the events-API shape ``github.parse`` takes."""
    body = event.payload
    if not isinstance(body, dict):
        raise ValueError("a webhook body must be a JSON object")
    name = github_event_name(event)
    if name is None:
        raise ValueError(
            f"unknown GitHub event type {event.event_type!r} and no usable X-GitHub-Event header"
        )
    kind = events_api_type(name)
    repository = body.get("repository")
    return {
        "id": github_event_id(event.id),
        "type": kind,
        "actor": _actor(body.get("sender")),
        "repo": _repo(repository),
        "public": (not repository["private"])
        if isinstance(repository, dict) and isinstance(repository.get("private"), bool)
        else None,
        "created_at": event.received_at,
        "payload": _push_payload(body) if kind == "PushEvent" else body,
    }


def slack_record(event: LandedEvent) -> dict[str, Any]:
    """A landed Slack delivery is already an Events API envelope."""
    if not isinstance(event.payload, dict):
        raise ValueError("a Slack event must be a JSON object")
    envelope = event.payload.get("type")
    if envelope != "event_callback":
        raise ValueError(f"unsupported Slack envelope type {envelope!r}")
    return event.payload


def _slack_day(record: Any) -> date:
    return slack.ts_to_datetime(record.event.ts).date()


def _github_day(record: Any) -> date:
    return record.created_at.astimezone(UTC).date()


@dataclass(frozen=True)
class _Converter:
    to_record: Callable[[LandedEvent], dict[str, Any]]
    day_of: Callable[[Any], date]


CONVERTERS: dict[str, _Converter] = {
    "slack": _Converter(slack_record, _slack_day),
    "github": _Converter(github_record, _github_day),
}


def _readable(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(x) for x in e['loc']) or '(record)'}: {e['msg']}" for e in exc.errors()[:5]
    ]
    more = exc.error_count() - 5
    return "schema violation: " + "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def convert(
    spec: SourceSpec, event: LandedEvent, source_file: str, line_no: int
) -> Accepted[Any] | Rejected:
    """One landed event as a raw-layer record, or the reason it cannot be one."""
    converter = CONVERTERS[spec.name]
    entity = next(iter(spec.folders))
    what = f"{spec.name} webhook event {event.id} ({event.event_type})"
    obj: Any = None
    try:
        obj = converter.to_record(event)
        record = spec.parse(entity, obj)
        day = converter.day_of(record)
    except ValidationError as exc:
        error = f"{what}: {_readable(exc)}"
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        error = f"{what}: {exc}"
    else:
        raw = canonical_json(obj)
        digest = hashlib.sha256(raw.encode()).hexdigest()
        return Accepted(record, raw, source_file, line_no, digest, entity, day)
    # The converted record when there is one (what a replay would parse), else the
    # delivery as landed.
    landed = {
        "id": event.id,
        "event_type": event.event_type,
        "received_at": event.received_at,
        "headers": dict(event.headers),
        "payload": event.payload,
    }
    return Rejected(canonical_json(obj if obj is not None else landed), source_file, line_no, error)


def received_day(event: LandedEvent) -> date | None:
    try:
        return datetime.fromisoformat(event.received_at).astimezone(UTC).date()
    except ValueError:
        return None


# --------------------------------------------------------------------------- positions


class _Positions:
    """Segment path and 1-based line of each event, for dead letters an operator can
    open. Counts newlines between consecutive cursors, so each byte is read once."""

    def __init__(self, store: LandingStore, root: Path, source: str) -> None:
        self._store = store
        self._root = root
        self._source = source
        self._seq = -1
        self._offset = 0
        self._line = 0

    def _newlines(self, seq: int, start: int, end: int) -> int:
        count = 0
        pos = start
        while pos < end:
            chunk = self._store.backend.read(self._source, seq, pos, min(_COUNT_BLOCK, end - pos))
            if not chunk:
                break
            count += chunk.count(b"\n")
            pos += len(chunk)
        return count

    def locate(self, cursor: str) -> tuple[str, int]:
        seq, end = _decode_cursor(self._source, cursor)
        if seq != self._seq:
            self._seq, self._offset, self._line = seq, 0, 0
        self._line += self._newlines(seq, self._offset, end)
        self._offset = end
        return str(self._root / self._source / segment_name(seq)), self._line


# --------------------------------------------------------------------------- batches


def plan_batches(
    spec: SourceSpec,
    store: LandingStore,
    cursor: str | None,
    max_events: int,
    max_batches: int,
) -> list[WebhookBatch]:
    """Up to ``max_batches`` consecutive batches of at most ``max_events`` events each,
    starting after ``cursor``; deterministic for the same landed events, so a repeated
    tick plans the same batches (and run keys)."""
    if max_events < 1 or max_batches < 1:
        raise ValueError("max_events and max_batches must be at least 1")
    batches: list[WebhookBatch] = []
    while len(batches) < max_batches:
        events, _ = store.read_after(spec.name, cursor, limit=max_events)
        if not events:
            break
        days = batch_days(spec, events)
        batches.append(
            WebhookBatch(spec.name, cursor, events[-1].cursor, len(events), days[0], days[1])
        )
        cursor = events[-1].cursor
    return batches


def batch_days(spec: SourceSpec, events: Sequence[LandedEvent]) -> tuple[date, date]:
    """First and last day the batch's records belong to. Rejected events only decide it
    when nothing parses (their dead letters still need a partition to run in)."""
    accepted = []
    received = []
    for e in events:
        result = convert(spec, e, "", 0)
        if isinstance(result, Accepted) and result.day is not None:
            accepted.append(result.day)
        elif (d := received_day(e)) is not None:
            received.append(d)
    days = accepted or received or [datetime.now(UTC).date()]
    return min(days), max(days)


def read_batch(store: LandingStore, batch: WebhookBatch) -> list[LandedEvent]:
    """The batch's events, in landing order."""
    events: list[LandedEvent] = []
    cursor = batch.from_cursor
    while batch.size is None or len(events) < batch.size:
        want = _READ_LIMIT if batch.size is None else min(_READ_LIMIT, batch.size - len(events))
        chunk, _ = store.read_after(batch.source, cursor, limit=want)
        if not chunk:
            break
        for event in chunk:
            events.append(event)
            if event.cursor == batch.to_cursor:
                return events
        cursor = chunk[-1].cursor
    raise BatchNotFoundError(
        f"{batch.run_key}: read {len(events)} events without reaching {batch.to_cursor!r}; "
        "the landing store no longer holds this batch as planned"
    )


def webhook_records(
    spec: SourceSpec, root: Path, batch: WebhookBatch
) -> tuple[list[Accepted[Any]], list[Rejected]]:
    """The batch's landed events as raw-layer records (each in the partition of its own
    day) and the ones that cannot be, with the reason."""
    store = LandingStore(root)
    positions = _Positions(store, Path(root), spec.name)
    accepted: list[Accepted[Any]] = []
    rejected: list[Rejected] = []
    for event in read_batch(store, batch):
        source_file, line_no = positions.locate(event.cursor)
        result = convert(spec, event, source_file, line_no)
        if isinstance(result, Accepted):
            accepted.append(result)
        else:
            rejected.append(result)
    return accepted, rejected
