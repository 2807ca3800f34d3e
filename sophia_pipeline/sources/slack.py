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
skipped.

Speakers are people, not ids: the workspace's members (``landing/slack/users/<day>.jsonl``,
one ``users.list`` member object a line, filed by its ``updated`` day) give each user id a
display name, and its channels (``landing/slack/channels/<day>.jsonl``, one
``conversations.list`` channel a line) give each channel id its name. A turn's speaker is
the member's display name (else real name, else handle, else the raw id when the member
is unknown), ``<@U…>`` mentions in the text read ``@Name`` the same way, and the thread
document carries ``channel_name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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


class SlackProfile(BaseModel):
    display_name: str | None = None
    real_name: str | None = None


class SlackUser(BaseModel):
    """A ``users.list`` member (the fields used here; Slack sends many more)."""

    id: str = Field(min_length=1)
    name: str | None = None  # the handle
    real_name: str | None = None
    deleted: bool = False
    is_bot: bool = False
    profile: SlackProfile = Field(default_factory=SlackProfile)
    updated: int | None = None  # epoch seconds

    @property
    def display(self) -> str:
        for name in (self.profile.display_name, self.profile.real_name, self.real_name, self.name):
            if name and name.strip():
                return name.strip()
        return self.id


class SlackChannel(BaseModel):
    """A ``conversations.list`` channel (the fields used here)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    is_archived: bool = False
    updated: int | None = None  # epoch milliseconds, as Slack sends it


def parse_entity(entity: str, raw: dict[str, Any]) -> BaseModel:
    """A landing record of ``entity`` ("message", "user" or "channel")."""
    if entity == "user":
        return SlackUser.model_validate(raw)
    if entity == "channel":
        return SlackChannel.model_validate(raw)
    return parse(raw)


def record_id(entity: str, record: Any) -> str:
    """Messages by Events API event id; members and channels by their Slack id."""
    if entity in ("user", "channel"):
        return f"{entity}:{record.id}"
    return str(record.event_id)


_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def resolve_mentions(text: str, names: Mapping[str, str]) -> str:
    """``<@U123>`` (or ``<@U123|handle>``) as ``@Display Name`` for known members; an
    unknown member's mention is left as written."""
    return _USER_MENTION.sub(
        lambda m: f"@{names[m.group(1)]}" if m.group(1) in names else m.group(0), text
    )


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


def normalize_thread(
    messages: list[SlackMessageEvent],
    names: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> Document:
    """One thread's messages (any order, duplicates by ``ts`` ignored) as a conversation;
    ``names`` maps user ids to display names and ``channels`` channel ids to names."""
    names = names or {}
    channels = channels or {}
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
            speaker=names.get(m.user, m.user) if m.user else (m.bot_id or "unknown"),
            text=resolve_mentions(m.text, names),
            start_s=round((m.at - start).total_seconds(), 3),
        )
        for m in ordered
    ]
    text, _ = render_turns(turns)
    head = resolve_mentions((parent or first).text, names).strip().splitlines()
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
            **({"channel_name": channels[first.channel]} if first.channel in channels else {}),
            "thread_ts": root_ts,
            "message_count": len(ordered),
            "has_parent": parent is not None,
            "users": sorted({m.user or m.bot_id or "unknown" for m in ordered}),
        },
    )


def group_threads(
    messages: Iterable[SlackEventEnvelope | SlackMessageEvent],
    users: Iterable[SlackUser] = (),
    channels: Iterable[SlackChannel] = (),
) -> list[Document]:
    """One conversation document per thread, ordered by thread key, speakers and
    mentions named from ``users`` and channels from ``channels``."""
    names = {u.id: u.display for u in users}
    channel_names = {c.id: c.name for c in channels}
    threads: dict[str, list[SlackMessageEvent]] = {}
    for item in messages:
        event = item.event if isinstance(item, SlackEventEnvelope) else item
        if event.type != "message" or event.subtype not in TURN_SUBTYPES:
            continue
        threads.setdefault(event.thread_key, []).append(event)
    return [normalize_thread(threads[key], names, channel_names) for key in sorted(threads)]


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
