"""Sample Gong calls and their ground-truth labels.

Every competitor mention and talking point is put in by a template that records it, and
each finished call is re-scanned (``vocab.scan_*``) so a label can never disagree with
the text it describes.

Writes ``gong/calls/<day>.jsonl`` (calls, by start time) and ``_labels/gong_calls.jsonl``,
one label per call in call-id order: ``{"call_id", "account_id", "deal_id", "competitors":
[canonical names, sorted], "mentions": [...], "talking_points": [sorted keys],
"outcome"}``; each mention is ``{"competitor", "alias" (the catalog alias), "surface" (the
text as written: maybe lower-case or possessive), "turn_index", "char_start",
"char_end"}`` with the offsets into that turn's text. Talking points are only ever said by
reps. ``outcome`` is ``DEAL_STAGE_OUTCOMES`` of the linked deal's current ``dealstage``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sophia_pipeline.documents import DEAL_STAGE_OUTCOMES
from sophia_pipeline.processing.tagging.catalog import DEFAULT_TALKING_POINTS

from . import vocab as v
from .base import SampleRun, SampleSource
from .common import Window, rand_between, write_jsonl, write_jsonl_by_day
from .world import Contact, Deal, Person, World, archive_deals

CALLS_PER_SCALE = 60
LABELS = "_labels/gong_calls.jsonl"
# Later stages have had more meetings.
_CALL_WEIGHT = {
    "appointmentscheduled": 1,
    "qualifiedtobuy": 2,
    "presentationscheduled": 3,
    "decisionmakerboughtin": 3,
    "contractsent": 4,
    "closedwon": 4,
    "closedlost": 3,
}
_SENTIMENT = {  # outcome -> weights of positive / neutral / negative reactions
    "early_stage": (3, 5, 2),
    "qualified": (4, 4, 2),
    "evaluation": (4, 4, 2),
    "negotiation": (5, 3, 2),
    "won": (7, 3, 1),
    "lost": (1, 3, 6),
}


@dataclass
class _Cast:
    reps: list[Person]
    prospects: list[Contact]
    rng: random.Random

    @property
    def rep(self) -> str:
        return _rep_id(self.reps[0])

    def prospect(self) -> str:
        return _contact_id(self.rng.choice(self.prospects))

    def seller(self) -> str:
        return _rep_id(self.rng.choice(self.reps))


def _rep_id(p: Person) -> str:
    return f"u-{p.owner_id}"


def _contact_id(c: Contact) -> str:
    return f"c-{c.id}"


def generate_calls(
    rng: random.Random, world: World
) -> tuple[list[tuple[datetime, str, dict]], list[dict]]:
    """(call records keyed by start time, labels in call-id order)."""
    live = [d for d in world.deals if d.archived_at is None]
    weights = [_CALL_WEIGHT[d.stage] for d in live]
    n = CALLS_PER_SCALE * world.scale
    picked = rng.choices(live, weights, k=n)
    called = {d.id for d in picked}
    archive_deals(
        rng, [d for d in live if d.id not in called], max(2, world.scale * 2), world.window
    )

    monologue_calls = set(rng.sample(range(n), max(1, n // 10)))
    long_calls = set(rng.sample(range(n), max(1, (n * 3) // 20)))
    slots = sorted((_call_time(rng, d, world.window), d.id) for d in picked)
    deals = {d.id: d for d in picked}
    seen_per_deal: dict[str, int] = {}
    records: list[tuple[datetime, str, dict]] = []
    labels: list[dict] = []
    for i, (started, deal_id) in enumerate(slots):
        deal = deals[deal_id]
        ordinal = seen_per_deal.get(deal_id, 0)
        seen_per_deal[deal_id] = ordinal + 1
        call_id = f"gong-{i + 1:06d}"
        record, label = _make_call(
            rng, world, deal, call_id, started, ordinal, i in monologue_calls, i in long_calls
        )
        records.append((started, call_id, record))
        labels.append(label)
    return records, labels


def write_sample(run: SampleRun) -> dict[str, int]:
    calls, labels = generate_calls(run.rng("gong"), run.world)
    return {
        "gong/calls": write_jsonl_by_day(run.landing_dir / "gong" / "calls", calls),
        LABELS: write_jsonl(run.landing_dir / LABELS, labels),
    }


# First: picking which deals get calls also decides which are archived (HubSpot shows it).
SAMPLE = SampleSource(order=10, folders=("gong/calls",), labels=(LABELS,), write=write_sample)


def _call_time(rng: random.Random, deal: Deal, window: Window) -> datetime:
    lo = deal.created + timedelta(hours=2)
    # Closed deals stop talking at the close; open ones are still being worked.
    end = deal.activity_end if deal.is_closed else window.end
    hi = min(max(lo + timedelta(hours=1), end), window.end - timedelta(hours=3))
    t = rand_between(rng, lo, hi)
    # Business hours in the Americas, when that still fits the span.
    moved = t.replace(hour=rng.randint(14, 21), minute=rng.choice([0, 15, 30, 45]), second=0)
    return moved if lo <= moved < hi else t


def _make_call(
    rng: random.Random,
    world: World,
    deal: Deal,
    call_id: str,
    started: datetime,
    ordinal: int,
    monologue: bool,
    long_call: bool,
) -> tuple[dict, dict]:
    company = world.company(deal.company_id)
    reps = [deal.owner]
    if rng.random() < 0.35:
        reps.append(rng.choice(world.by_role("se") + world.by_role("manager")))
    contacts = [world.contact(cid) for cid in deal.contact_ids]
    prospects = rng.sample(contacts, rng.randint(1, min(3, len(contacts))))
    cast = _Cast(reps, prospects, rng)
    outcome = DEAL_STAGE_OUTCOMES[deal.stage]
    script = _script(rng, cast, company.name, outcome, monologue, long_call)
    turns, mentions, points = _render(rng, script)

    text = "\n".join(t["text"] for t in turns)
    found = v.scan_competitors(text)
    expected = {m["competitor"] for m in mentions}
    if found != expected or v.scan_talking_points(text) != points:
        raise AssertionError(f"{call_id}: labels disagree with the text ({found} != {expected})")
    if any(v.scan_talking_points(t["text"]) for t in turns if not t["speaker_id"].startswith("u-")):
        raise AssertionError(f"{call_id}: a talking point leaked into a prospect turn")

    owner = deal.owner
    tz = timezone(timedelta(hours=owner.utc_offset_h))
    duration = int(turns[-1]["start_s"] + _seconds(turns[-1]["text"])) + rng.randint(5, 60)
    title = f"{company.name} <> Sophia: {v.CALL_TITLES[min(ordinal, len(v.CALL_TITLES) - 1)]}"
    participants = [
        {
            "speaker_id": _rep_id(p),
            "name": p.name,
            "role": "rep",
            "email": p.email,
            "company": "Sophia",
        }
        for p in reps
    ] + [
        {
            "speaker_id": _contact_id(c),
            "name": c.name,
            "role": "prospect",
            "email": c.email,
            "company": company.name,
        }
        for c in prospects
    ]
    updated = min(
        started + timedelta(seconds=duration + rng.randint(120, 1800)),
        world.window.end - timedelta(minutes=1),
    )
    record = {
        "call_id": call_id,
        "title": title,
        # Gong reports start times in the workspace user's zone, with its offset.
        "started": started.astimezone(tz).isoformat(),
        "duration_s": duration,
        "account_id": company.id,
        "deal_id": deal.id,
        "rep_email": owner.email,
        "participants": participants,
        "turns": turns,
        "updated_at": updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    label = {
        "call_id": call_id,
        "account_id": company.id,
        "deal_id": deal.id,
        "competitors": sorted(expected),
        "mentions": mentions,
        "talking_points": sorted(points),
        "outcome": outcome,
    }
    return record, label


def _seconds(text: str) -> float:
    return len(text.split()) / 2.6


def _script(
    rng: random.Random,
    cast: _Cast,
    company: str,
    outcome: str,
    monologue: bool,
    long_call: bool,
) -> v.Script:
    first = cast.prospects[0].first
    ctx = {
        "p_first": first,
        "r_first": cast.reps[0].first,
        "company": company,
        "n": str(rng.choice([8, 12, 20, 35, 50, 80])),
        "m": str(rng.choice([2, 3, 4, 5, 6])),
        "pct": str(rng.choice([10, 15, 20, 25])),
        "weekday": rng.choice(v.WEEKDAYS),
    }

    def f(template: str) -> v.Frag:
        return v.Frag(v.fill(template, ctx))

    decks: dict[tuple[str, ...], list[str]] = {}

    def pick(bank: list[str]) -> v.Frag:
        # Drawn like cards, so a call repeats a line only once its bank is used up.
        key = tuple(bank)
        deck = decks.get(key)
        if not deck:
            deck = decks[key] = rng.sample(bank, len(bank))
        return f(deck.pop())

    def reaction() -> v.Frag:
        mood = rng.choices(["positive", "neutral", "negative"], _SENTIMENT[outcome])[0]
        return pick(v.REACTIONS[mood])

    s = v.Script()
    s.say(cast.rep, pick(v.REP_OPENERS))
    s.say(cast.prospect(), pick(v.PROSPECT_SMALLTALK))
    s.say(cast.rep, pick(v.REP_AGENDAS))

    blocks: list[v.Script] = []

    def block() -> v.Script:
        b = v.Script()
        blocks.append(b)
        return b

    for _ in range(rng.randint(2, 4)):
        b = block()
        b.say(cast.seller(), pick(v.DISCOVERY_QUESTIONS))
        b.say(cast.prospect(), *[pick(v.DISCOVERY_ANSWERS) for _ in range(rng.randint(1, 3))])
        if rng.random() < 0.5:
            b.say(cast.rep, pick(v.REP_ACKS))

    n_comp = rng.choices([0, 1, 2, 3], [30, 45, 20, 5])[0]
    competitors = rng.sample(sorted(v.SAMPLE_PRODUCTS), n_comp)
    for c in competitors:
        _competitor_block(rng, block(), cast, c, ctx)
    if len(competitors) >= 2 and rng.random() < 0.6:
        pair = competitors[:2]
        m1, m2 = v.mention(rng, pair[0]), v.mention(rng, pair[1])
        line = v.fill(v.choose(rng, v.PAIR_COMPETITOR_LINES, pair), ctx, (m1, m2))
        b = block()
        b.say(cast.prospect(), v.Frag(line, (m1, m2)))
        b.say(cast.rep, pick(v.REP_COMPETITOR_FOLLOWUPS))

    for _ in range(rng.randint(1, 3)):
        b = block()
        b.say(cast.seller(), *[pick(v.DEMO_LINES) for _ in range(rng.randint(1, 3))])
        b.say(cast.prospect(), reaction())

    n_points = rng.choices([0, 1, 2, 3, 4], [8, 30, 35, 20, 7])[0]
    points = rng.sample(sorted(DEFAULT_TALKING_POINTS), n_points)
    for objection in rng.sample(sorted(v.OBJECTIONS), rng.randint(0, 2)):
        b = block()
        b.say(cast.prospect(), pick(v.OBJECTIONS[objection]))
        answer = [p for p in v.OBJECTION_POINTS[objection] if p in points]
        if answer:
            point = answer[0]
            points.remove(point)
            b.say(cast.seller(), pick(v.REP_LEADINS), _point(rng, point, ctx))
        else:
            b.say(cast.rep, pick(v.UNANSWERED_REPLIES))
        b.say(cast.prospect(), reaction())
    for point in points:
        b = block()
        if rng.random() < 0.6:
            b.say(cast.prospect(), pick(v.POINT_PROMPTS[point]))
        b.say(cast.seller(), _point(rng, point, ctx))

    if rng.random() < 0.35:
        _, sentence, reply = rng.choice(v.DISTRACTORS)
        b = block()
        b.say(cast.prospect(), v.Frag(sentence))
        b.say(cast.rep, v.Frag(reply))

    if monologue:
        b = block()
        speaker = cast.rep if rng.random() < 0.4 else cast.prospect()
        b.say(speaker, *_monologue(rng, competitors, speaker == cast.rep))
        b.say(cast.rep if speaker != cast.rep else cast.prospect(), reaction())

    # Keep the opening discovery first; shuffle the middle so calls differ in shape.
    head, tail = blocks[:1], blocks[1:]
    rng.shuffle(tail)
    for b in head + tail:
        s.turns.extend(b.turns)

    target = rng.randint(40, 58) if long_call else rng.randint(10, 28)
    while len(s.turns) < target - 2:
        s.say(cast.seller(), pick(v.DISCOVERY_QUESTIONS + v.DEMO_LINES))
        s.say(cast.prospect(), pick(v.DISCOVERY_ANSWERS) if rng.random() < 0.6 else reaction())

    s.say(cast.rep, pick(v.NEXT_STEPS_REP))
    s.say(cast.prospect(), pick(v.NEXT_STEPS_PROSPECT))
    return s


def _point(rng: random.Random, point: str, ctx: dict[str, str]) -> v.Frag:
    return v.Frag(v.fill(rng.choice(v.TALKING_POINT_LINES[point]), ctx), points=(point,))


def _competitor_block(
    rng: random.Random, b: v.Script, cast: _Cast, canonical: str, ctx: dict[str, str]
) -> None:
    possessive = rng.random() < 0.25
    m = v.mention(rng, canonical, possessive)
    bank = v.PROSPECT_COMPETITOR_POSSESSIVE if possessive else v.PROSPECT_COMPETITOR_LINES
    line = v.fill(v.choose(rng, bank, [canonical]), ctx, (m,))
    b.say(cast.prospect(), v.Frag(line, (m,)))
    if rng.random() < 0.5:
        possessive = rng.random() < 0.3
        m2 = v.mention(rng, canonical, possessive)
        bank = v.REP_COMPETITOR_POSSESSIVE if possessive else v.REP_COMPETITOR_LINES
        line = v.fill(v.choose(rng, bank, [canonical]), ctx, (m2,))
        b.say(cast.seller(), v.Frag(line, (m2,)))
    else:
        b.say(cast.rep, v.Frag(rng.choice(v.REP_COMPETITOR_FOLLOWUPS)))


def _monologue(rng: random.Random, competitors: list[str], by_rep: bool) -> list[v.Frag]:
    """300-700 words of long-form talk, a competitor maybe named somewhere in the middle,
    so a mention can sit deep inside a turn that must be split into several chunks."""
    target = rng.randint(300, 700)
    frags: list[v.Frag] = []
    words = 0
    pool: list[str] = []
    while words < target:
        if not pool:
            pool = list(v.LONG_FORM)
            rng.shuffle(pool)
        sentence = pool.pop()
        frags.append(v.Frag(sentence))
        words += len(sentence.split())
    if competitors and rng.random() < 0.6:
        canonical = rng.choice(competitors)
        m = v.mention(rng, canonical)
        bank = v.REP_COMPETITOR_LINES if by_rep else v.PROSPECT_COMPETITOR_LINES
        line = v.fill(v.choose(rng, bank, [canonical]), {}, (m,))
        frags.insert(rng.randrange(1, len(frags)), v.Frag(line, (m,)))
    return frags


def _render(rng: random.Random, script: v.Script) -> tuple[list[dict], list[dict], set[str]]:
    """Turn records, the mention labels with their final turn indexes, and the talking
    points. A seller turn of several sentences is sometimes split in two, which is how
    consecutive turns by one speaker arise besides two prospects in a row."""
    expanded: list[tuple[str, list[v.Frag]]] = []
    for speaker, frags in script.turns:
        words = sum(len(fr.text.split()) for fr in frags)
        # Monologues stay whole: they are the turns that must overflow one chunk.
        if speaker.startswith("u-") and len(frags) >= 2 and words < 150 and rng.random() < 0.25:
            cut = rng.randrange(1, len(frags))
            expanded.extend([(speaker, frags[:cut]), (speaker, frags[cut:])])
        else:
            expanded.append((speaker, frags))

    turns: list[dict] = []
    mentions: list[dict] = []
    points: set[str] = set()
    clock = float(rng.randint(2, 20))
    for index, (speaker, frags) in enumerate(expanded):
        text = " ".join(fr.text for fr in frags)
        turns.append({"speaker_id": speaker, "start_s": round(clock, 1), "text": text})
        clock += _seconds(text) + rng.uniform(0.3, 2.5)
        base = 0
        for fr in frags:
            points.update(fr.points)
            for m, (start, end) in zip(
                fr.mentions, v.locate(fr.text, fr.mentions, base), strict=True
            ):
                mentions.append(
                    {
                        "competitor": m.canonical,
                        "turn_index": index,
                        "alias": m.alias,
                        "surface": m.surface,
                        "char_start": start,
                        "char_end": end,
                    }
                )
            base += len(fr.text) + 1
    return turns, mentions, points
