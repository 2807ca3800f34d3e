"""Sample Slack messages: Events API ``message`` envelopes, grouped in threads, some
naming competitors (labelled like the calls) and some using the near-miss words.

Writes ``slack/messages/<day>.jsonl`` (by message time), the workspace directory as Slack's
Web API gives it (``slack/users/<day>.jsonl``: one ``users.list`` member a line;
``slack/channels/<day>.jsonl``: one ``conversations.list`` channel a line; both on the
window's first day) and ``_labels/slack_threads.jsonl``,
one label per thread in thread-key order: ``{"thread_key" (= the Slack document's source
id), "channel", "thread_ts", "competitors", "mentions"}``, mentions as in the Gong labels
(``gong.py``) with ``message_index`` (in ``ts`` order) in place of ``turn_index``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from . import vocab as v
from .base import SampleRun, SampleSource
from .common import rand_between, slack_id, uuid4, write_jsonl, write_jsonl_by_day
from .world import Company, Person, World

MESSAGES_PER_SCALE = 300
LABELS = "_labels/slack_threads.jsonl"
TEAM_ID = "T0SOPHIA01"
APP_ID = "A0SOPHIA01"
VERIFICATION_TOKEN = "sample-verification-token"

CHANNELS = ["sales", "deal-desk", "competitive-intel", "customer-success", "eng-support",
            "general"]  # fmt: skip

# Placeholders: {company} {c} {c2} {pct} {amount} {seats} {deal_url} {user} {weekday} {n}
PARENTS: dict[str, list[str]] = {
    "competitive-intel": [
        "Heads up: {company} told us they're also evaluating {c}.",
        "Anyone have the latest battlecard for {c}? Going up against them at {company}.",
        "{c} just announced new packaging, screenshot in the thread.",
        "Lost {company} to {c} :disappointed: notes from the debrief below.",
    ],
    "deal-desk": [
        "Requesting approval for a {pct}% discount on {company}, {amount} ARR, {seats} seats. "
        "<{deal_url}|deal record>",
        "Can someone from legal look at the redlines for {company}? They want a 60 day "
        "termination clause.",
        "{company} is asking for net 60 payment terms, is that ok?",
    ],
    "sales": [
        ":tada: Closed {company}! {seats} seats, {amount} ARR. Huge thanks to <@{user}> for "
        "the demo.",
        "Great call with {company} today, they want a demo for the wider team.",
        "Does anyone have a contact at {company}? Trying to get to their CRO.",
        "Pipeline review moved to {weekday}, please update your deals before then.",
    ],
    "customer-success": [
        "{company} is asking when their admins get trained, can we get a date on the calendar?",
        "Renewal risk: {company} usage dropped by half this month.",
        "{company} wants to add another team, <@{user}> can you follow up?",
    ],
    "eng-support": [
        "Customer reports the CRM sync is failing for {company}, anyone seen this? Error: "
        "`{error}`",
        "Transcripts for {company} calls are showing up with the wrong speaker labels since "
        "yesterday.",
        "Is the {c} connector down? Sync jobs for {n} accounts are stuck.",
    ],
    "general": [
        "Reminder: all-hands on {weekday} at 10 PT.",
        "Who's going to the conference next month?",
        "Lunch and learn on {weekday}: how we run forecast calls.",
    ],
}
# Channels whose parent template may name a competitor ({c}); the eng-support one is a
# CRM connector, so only CRMs fit it.
REPLIES: dict[str, list[str]] = {
    "competitive-intel": [
        "Their reps are leading with price, we should lead with coaching.",
        "{c} can't do multi-currency forecasting, that's been our winning point.",
        "{c} came up on my call this morning too.",
        "They keep outreaching to our customers on LinkedIn.",
        "Battlecard is pinned in the channel, updated last week.",
        "Their demo looked salesforcey to the buyer, lots of tabs and setup.",
    ],
    "deal-desk": [
        "Approved up to {pct}%, anything beyond needs the CRO.",
        "What's the competitive situation?",
        "They're comparing us with {c}.",
        "Legal is fine with 30 days, not 60.",
    ],
    "eng-support": [
        "Looks like a token refresh issue:\n```\n{error}\n```",
        "Fix is in review: <https://github.com/sophia-ai/sophia-api/pull/{n}|PR #{n}>",
        "Deployed the fix, can you confirm with the customer?",
        "Can you share the workspace id? I'll pull the logs.",
    ],
    "*": [
        "On it.",
        "Thanks <@{user}>!",
        "+1, seeing the same thing.",
        "I'll take a look after standup.",
        "Can you drop the link to the call recording?",
        ":eyes:",
        "Nice work!",
        "Can you clarify what they asked for exactly?",
        "Let's discuss in the pipeline meeting.",
    ],
}
ERRORS = [
    "401 Unauthorized: token expired",
    "429 Too Many Requests (retry after 30s)",
    "KeyError: 'associations'",
    "TimeoutError: read timed out after 30.0s",
]


def _ts(at: datetime, micro: int) -> str:
    return f"{int(at.timestamp())}.{micro:06d}"


def generate_messages(
    rng: random.Random, world: World
) -> tuple[list[tuple[datetime, str, dict]], list[dict], dict[str, str]]:
    """(envelopes keyed by message time, thread labels, channel name -> id)."""
    target = MESSAGES_PER_SCALE * world.scale
    channel_ids = {name: slack_id(rng, "C", 11) for name in CHANNELS}
    live = [c for c in world.companies if c.archived_at is None]
    records: list[tuple[datetime, str, dict]] = []
    labels: list[dict] = []
    made = 0
    while made < target:
        size = rng.choices([1, rng.randint(2, 4), rng.randint(5, 8), rng.randint(9, 15)],
                           [20, 40, 30, 10])[0]  # fmt: skip
        size = min(size, target - made)
        channel = rng.choice(CHANNELS)
        thread, label = _thread(rng, world, channel, channel_ids[channel], rng.choice(live), size)
        records.extend(thread)
        labels.append(label)
        made += size
    labels.sort(key=lambda lab: lab["thread_key"])
    return records, labels, channel_ids


def users_list(world: World) -> list[dict]:
    """The team as ``users.list`` members. Every other member leaves the display name
    empty, as many Slack users do, so readers must fall back to the real name."""
    updated = int(world.window.start.timestamp())
    out = []
    for n, p in enumerate(world.team):
        real = f"{p.first} {p.last}"
        out.append(
            {
                "id": p.slack_id,
                "team_id": TEAM_ID,
                "name": p.email.split("@")[0],
                "deleted": False,
                "real_name": real,
                "is_bot": False,
                "profile": {"display_name": real if n % 2 == 0 else "", "real_name": real},
                "updated": updated,
            }
        )
    return out


def conversations_list(world: World, channel_ids: dict[str, str]) -> list[dict]:
    """The channels as ``conversations.list`` gives them (``updated`` in milliseconds)."""
    created = int(world.window.start.timestamp())
    return [
        {
            "id": cid,
            "name": name,
            "is_channel": True,
            "is_archived": False,
            "created": created,
            "updated": created * 1000,
        }
        for name, cid in channel_ids.items()
    ]


def write_sample(run: SampleRun) -> dict[str, int]:
    messages, labels, channel_ids = generate_messages(run.rng("slack"), run.world)
    day = f"{run.world.window.start.date().isoformat()}.jsonl"
    slack_dir = run.landing_dir / "slack"
    return {
        "slack/messages": write_jsonl_by_day(slack_dir / "messages", messages),
        "slack/users": write_jsonl(slack_dir / "users" / day, users_list(run.world)),
        "slack/channels": write_jsonl(
            slack_dir / "channels" / day, conversations_list(run.world, channel_ids)
        ),
        LABELS: write_jsonl(run.landing_dir / LABELS, labels),
    }


SAMPLE = SampleSource(
    order=30,
    folders=("slack/messages", "slack/users", "slack/channels"),
    labels=(LABELS,),
    write=write_sample,
)


def _thread(
    rng: random.Random,
    world: World,
    channel: str,
    channel_id: str,
    company: Company,
    size: int,
) -> tuple[list[tuple[datetime, str, dict]], dict]:
    window = world.window
    people = world.team
    start = rand_between(rng, window.start, window.end - timedelta(days=1))
    start = start.replace(hour=rng.randint(13, 23))
    crm = sorted(v.CRM_COMPETITORS)
    canonical = rng.choice(crm if channel == "eng-support" else sorted(v.SAMPLE_PRODUCTS))
    deal_ids = company.deal_ids
    ctx = {
        "company": company.name,
        "pct": str(rng.choice([5, 10, 15, 20, 25])),
        "amount": f"${rng.choice([18, 24, 36, 48, 72, 96, 120])}k",
        "seats": str(rng.choice([15, 25, 40, 60, 120])),
        "deal_url": f"https://sophia-ai.example/deals/{deal_ids[0] if deal_ids else '0'}",
        "weekday": rng.choice(v.WEEKDAYS),
        "n": str(rng.randint(2, 400)),
        "error": rng.choice(ERRORS),
    }
    authors: list[Person] = [rng.choice(people) for _ in range(size)]
    texts: list[str] = []
    mentions: list[dict] = []
    replies: list[str] = []
    for i in range(size):
        if i == 0:
            template = rng.choice(PARENTS[channel])
        else:
            # Drawn like cards: a thread repeats a reply only once the bank is used up.
            if not replies:
                bank = REPLIES.get(channel, []) + REPLIES["*"]
                replies = rng.sample(bank, len(bank))
            template = replies.pop()
        ctx["user"] = rng.choice(people).slack_id
        found: tuple[v.Mention, ...] = ()
        if "{c}" in template:
            found = (v.mention(rng, canonical, possessive=False),)
        text = v.fill(template, ctx, found)
        texts.append(text)
        mentions.extend(
            {
                "competitor": m.canonical,
                "message_index": i,
                "alias": m.alias,
                "surface": m.surface,
                "char_start": start,
                "char_end": end,
            }
            for m, (start, end) in zip(found, v.locate(text, found), strict=True)
        )

    expected = {m["competitor"] for m in mentions}
    if v.scan_competitors("\n".join(texts)) != expected:
        raise AssertionError(f"slack thread in #{channel}: labels disagree with the text")

    records: list[tuple[datetime, str, dict]] = []
    at = start
    parent_ts = ""
    for i, (author, text) in enumerate(zip(authors, texts, strict=True)):
        if i:
            at = at + timedelta(seconds=rng.randint(40, 3 * 3600 if i < 3 else 20 * 3600))
        at = window.clamp(at, timedelta(seconds=size - i + 1))
        ts = _ts(at, rng.randrange(1, 999_999))
        event: dict = {
            "type": "message",
            "channel": channel_id,
            "channel_type": "channel",
            "user": author.slack_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "team": TEAM_ID,
            "client_msg_id": uuid4(rng),
        }
        if i == 0:
            parent_ts = ts
        else:
            event["thread_ts"] = parent_ts
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": slack_id(rng, "Ev", 12),
            "event_time": int(at.timestamp()),
        }
        records.append((at, ts, envelope))
    label = {
        "thread_key": f"{channel_id}-{parent_ts}",
        "channel": channel_id,
        "thread_ts": parent_ts,
        "competitors": sorted(expected),
        "mentions": mentions,
    }
    return records, label
