"""Webhook batches: which landed events one sensor-requested run loads, and how a landed
delivery becomes the record the raw layer stores.

The webhook sensors (``defs/webhook_sensors.py``) cut each source's landing log into
batches of consecutive events, one run per batch, and name a batch by its two cursors so
that a re-evaluated tick asks for the same run again (same ``run_key``) instead of a new
one. The batch travels to the raw asset in the run's tags; the raw asset reads exactly
those events back with :func:`webhook_records`. Both sides convert events with the same
code, so the partition days the sensor asks for are the days the records land in.

Conversion per source lives with the source (``webhook_record`` and ``record_day`` in
``sources/slack.py`` and ``sources/github.py``):

- Slack: the landed payload *is* an Events API envelope (the landing-file shape), parsed
  as is; its day is the UTC day of the message ``ts``.
- GitHub: a webhook body is rewritten into the events-API shape the GitHub source parses;
  its day is the UTC day of ``created_at`` (when the receiver got it).

An event that cannot become a valid record comes back as a ``Rejected`` naming the
event and where it is in the landing store (the database and sequence number, or the
batch object and line), for the dead-letter table. No Dagster here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from sophia_pipeline.sources import github, slack
from sophia_pipeline.sources.landing import Accepted, Rejected, canonical_json, content_hash
from sophia_pipeline.sources.registry import SourceSpec
from sophia_pipeline.store.landing import LandedEvent

TAG_PREFIX = "sophia/webhook"
SOURCE_TAG = f"{TAG_PREFIX}_source"
FROM_TAG = f"{TAG_PREFIX}_from"
TO_TAG = f"{TAG_PREFIX}_to"
SIZE_TAG = f"{TAG_PREFIX}_size"

# The sources the receiver lands and a sensor drains.
WEBHOOK_SOURCES = ("slack", "github")

_READ_LIMIT = 1000


class EventReader(Protocol):
    """What batches need of a landing store (a backend, or the receiver's store)."""

    def read_after(
        self, source: str, cursor: str | None, limit: int = 1000
    ) -> tuple[list[LandedEvent], str | None]: ...


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


@dataclass(frozen=True)
class _Converter:
    to_record: Callable[[LandedEvent], dict[str, Any]]
    day_of: Callable[[Any], date]


CONVERTERS: dict[str, _Converter] = {
    "slack": _Converter(slack.webhook_record, slack.record_day),
    "github": _Converter(github.webhook_record, github.record_day),
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
        raw = canonical_json(obj)
        digest = content_hash(raw)  # ValueError for an unpaired surrogate in the text
    except ValidationError as exc:
        error = f"{what}: {_readable(exc)}"
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        error = f"{what}: {exc}"
    except RecursionError:
        error = f"{what}: nested too deeply"
    else:
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


# --------------------------------------------------------------------------- batches


def plan_batches(
    spec: SourceSpec,
    store: EventReader,
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


def read_batch(store: EventReader, batch: WebhookBatch) -> list[LandedEvent]:
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
    spec: SourceSpec, store: EventReader, batch: WebhookBatch
) -> tuple[list[Accepted[Any]], list[Rejected]]:
    """The batch's landed events as raw-layer records (each in the partition of its own
    day) and the ones that cannot be, with the reason."""
    accepted: list[Accepted[Any]] = []
    rejected: list[Rejected] = []
    for event in read_batch(store, batch):
        result = convert(spec, event, event.location, event.line_no)
        if isinstance(result, Accepted):
            accepted.append(result)
        else:
            rejected.append(result)
    return accepted, rejected
