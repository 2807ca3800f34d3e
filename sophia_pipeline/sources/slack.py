"""Slack: Events API message envelopes, and their grouping into thread conversations.

Landing files: ``landing/slack/messages/<YYYY-MM-DD>.jsonl``, one Events API
``event_callback`` envelope per line, in the file of the UTC day of the message's ``ts``.
In the local profile the sample generator writes them; in prod the webhook receiver does,
after checking the request signature.

A thread is the parent message plus every message whose ``event.thread_ts`` is the parent's
``ts``; a message without ``thread_ts`` starts its own thread (of one, until replies come).
Replies can land on later days than the parent, so callers pass ``group_threads`` every
message of the threads they rebuild (e.g. all raw rows for the affected thread keys), and
each thread becomes one CONVERSATION document whose turns are its messages in ``ts`` order.

Only plain messages (no ``subtype``), thread broadcasts and bot messages become turns; edit
and delete notifications (``message_changed``, ``message_deleted``) and the like are
skipped. Speakers are Slack user ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field

from sophia_pipeline.documents import Document, DocumentKind, Turn, render_turns

from .landing import WebhookDelivery

SOURCE = "slack"
ENTITY = "thread"
TURN_SUBTYPES = frozenset({None, "thread_broadcast", "bot_message"})
TITLE_CHARS = 80


class SlackMessageEvent(BaseModel):
    type: str = "message"
    channel: str
    user: str | None = None
    bot_id: str | None = None
    text: str = ""
    ts: str = Field(pattern=r"^\d+\.\d+$")
    thread_ts: str | None = None
    subtype: str | None = None
    channel_type: str | None = None
    event_ts: str | None = None
    team: str | None = None
    client_msg_id: str | None = None

    @property
    def at(self) -> datetime:
        return ts_to_datetime(self.ts)

    @property
    def thread_key(self) -> str:
        return thread_key(self.channel, self.thread_ts or self.ts)


class SlackEventEnvelope(BaseModel):
    token: str | None = None
    team_id: str
    api_app_id: str | None = None
    event: SlackMessageEvent
    type: str = "event_callback"
    event_id: str
    event_time: int


def ts_to_datetime(ts: str) -> datetime:
    seconds, _, micros = ts.partition(".")
    return datetime.fromtimestamp(int(seconds), tz=UTC).replace(microsecond=int(micros or 0))


def thread_key(channel: str, thread_ts: str) -> str:
    """The thread's source id: ``<channel>-<parent ts>``."""
    return f"{channel}-{thread_ts}"


def parse(raw: dict[str, Any]) -> SlackEventEnvelope:
    return SlackEventEnvelope.model_validate(raw)


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def normalize_thread(messages: list[SlackMessageEvent]) -> Document:
    """One thread's messages (any order, duplicates by ``ts`` ignored) as a conversation."""
    by_ts: dict[str, SlackMessageEvent] = {}
    for m in messages:
        by_ts.setdefault(m.ts, m)
    ordered = sorted(by_ts.values(), key=lambda m: _ts_key(m.ts))
    first = ordered[0]
    root_ts = first.thread_ts or first.ts
    parent = next((m for m in ordered if m.ts == root_ts), None)
    start = ts_to_datetime(root_ts)
    turns = [
        Turn(
            speaker=m.user or m.bot_id or "unknown",
            text=m.text,
            start_s=round((m.at - start).total_seconds(), 3),
        )
        for m in ordered
    ]
    text, _ = render_turns(turns)
    head = (parent or first).text.strip().splitlines()
    title = head[0][:TITLE_CHARS] if head else None
    key = thread_key(first.channel, root_ts)
    return Document(
        doc_id=Document.make_id(SOURCE, ENTITY, key),
        source=SOURCE,
        entity_type=ENTITY,
        source_id=key,
        kind=DocumentKind.CONVERSATION,
        title=title,
        text=text,
        turns=turns,
        author=(parent.user if parent else None),
        occurred_at=start,
        updated_at=ordered[-1].at,
        attributes={
            "channel": first.channel,
            "thread_ts": root_ts,
            "message_count": len(ordered),
            "has_parent": parent is not None,
            "users": sorted({t.speaker for t in turns}),
        },
    )


def group_threads(
    messages: Iterable[SlackEventEnvelope | SlackMessageEvent],
) -> list[Document]:
    """One conversation document per thread, ordered by thread key."""
    threads: dict[str, list[SlackMessageEvent]] = {}
    for item in messages:
        event = item.event if isinstance(item, SlackEventEnvelope) else item
        if event.type != "message" or event.subtype not in TURN_SUBTYPES:
            continue
        threads.setdefault(event.thread_key, []).append(event)
    return [normalize_thread(threads[key]) for key in sorted(threads)]


# --- webhook deliveries ------------------------------------------------------------------


def webhook_record(event: WebhookDelivery) -> dict[str, Any]:
    """A landed Slack delivery is already an Events API envelope."""
    if not isinstance(event.payload, dict):
        raise ValueError("a Slack event must be a JSON object")
    envelope = event.payload.get("type")
    if envelope != "event_callback":
        raise ValueError(f"unsupported Slack envelope type {envelope!r}")
    return event.payload


def record_day(record: SlackEventEnvelope) -> date:
    """The UTC day a webhook-delivered message belongs to: that of its ``ts``, not of
    its delivery."""
    return ts_to_datetime(record.event.ts).date()
