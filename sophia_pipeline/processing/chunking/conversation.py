"""Windowed chunking for conversations (Gong calls, Slack threads).

A single speaker turn ("Sounds good.") says too little to be worth retrieving, so
consecutive turns are packed, each line still "Speaker: words", into windows of at most
the token budget. A turn is never split unless it alone (with the header) exceeds the
budget; it is then cut at sentences (then words, then characters) with its speaker label
repeated on every piece. Consecutive windows overlap by one turn: the last turn of a
window opens the next one, so an answer is never separated from the question before it.

Every chunk starts with a short context header (e.g. ``Gong call: Acme <> Sophia: Demo |
account Acme | 2024-03-05``) built by ``conversation_header``; it counts toward the
budget and takes at most ``1 / HEADER_SHARE`` of it.

Offsets point into the rendered transcript (``render_turns``); a window's span runs from
its first turn's line to the end of its last turn's line, so windows overlap where turns
repeat and together cover every character.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sophia_pipeline.documents import Turn, render_turns

from .base import Chunk, TokenCounterLike, pack_spans, sentence_spans

# The header (and, for a split turn, the speaker label) may take at most this share of
# the budget, so the words of the conversation always have most of it.
HEADER_SHARE = 4
# Turns the next window repeats from the end of the one before.
OVERLAP_TURNS = 1

_WS = re.compile(r"\s+")


def conversation_header(
    source: str,
    title: str | None,
    occurred_at: datetime | date | str | None,
    attributes: Mapping[str, Any] | None = None,
) -> str:
    """The one-line context a conversation's chunks start with: what it is, which
    call/thread, whose account and when. Gong: ``Gong call: <title> | account <name> |
    <date>``; Slack: ``Slack #<channel> thread: <first line> | <date>``."""
    attrs = attributes or {}
    day = _day(occurred_at)
    parts: list[str] = []
    if source == "slack":
        channel = attrs.get("channel_name") or attrs.get("channel")
        head = f"Slack #{channel} thread" if channel else "Slack thread"
        parts.append(f"{head}: {_clean(title)}" if title else head)
    else:
        kind = {"gong": "Gong call", "": "Conversation"}.get(source, f"{source} conversation")
        parts.append(f"{kind}: {_clean(title)}" if title else kind)
        account = attrs.get("account_name")
        if account and (not title or str(account).lower() not in title.lower()):
            parts.append(f"account {_clean(str(account))}")
    if day:
        parts.append(day)
    return " | ".join(parts)


def _day(value: datetime | date | str | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _clean(value: str) -> str:
    return _WS.sub(" ", value).strip()


def fit_line(text: str, counter: TokenCounterLike, limit: int) -> str:
    """``text`` when it counts at most ``limit`` tokens, else its longest prefix that
    does with an ellipsis."""
    if not text or counter.count(text) <= limit:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter.count(text[:mid] + "…") <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def chunk_conversation(
    doc_id: str, turns: list[Turn], counter: TokenCounterLike, header: str | None = None
) -> list[Chunk]:
    """Windows of whole turns within the budget (header included), overlapping by one
    turn; a turn too big alone is split with its label on every piece."""
    if not turns:
        return []
    source, offsets = render_turns(turns)
    limit = max(8, counter.budget // HEADER_SHARE)
    head = fit_line(_clean(header or ""), counter, limit)
    lead = head + "\n" if head else ""
    lines = [f"{t.speaker}: {t.text.strip()}".rstrip() for t in turns]
    # [line_start, end): a turn's line with its closing newline.
    spans = [(line_start, text_end + 1) for text_start, text_end, line_start in offsets]

    def window_text(i: int, j: int) -> str:
        return lead + "\n".join(lines[i : j + 1])

    chunks: list[Chunk] = []

    def emit(start: int, end: int, text: str, tokens: int, speakers: list[str]) -> None:
        label = ", ".join(dict.fromkeys(speakers))
        chunks.append(Chunk(doc_id, len(chunks), text, start, end, tokens, label=label))

    i = 0
    n = len(turns)
    while i < n:
        first = window_text(i, i)
        first_tokens = counter.count(first)
        if first_tokens > counter.budget:
            for p in _split_turn(source, offsets[i], turns[i].speaker, lead, counter, limit):
                emit(p[0], p[1], p[2], p[3], [turns[i].speaker])
            i += 1
            continue
        j, text, tokens = i, first, first_tokens
        while j + 1 < n:
            cand = window_text(i, j + 1)
            cand_tokens = counter.count(cand)
            if cand_tokens > counter.budget:
                break
            j, text, tokens = j + 1, cand, cand_tokens
        emit(spans[i][0], spans[j][1], text, tokens, [t.speaker for t in turns[i : j + 1]])
        if j + 1 >= n:
            break
        # Repeat the window's last turn(s) in the next one, unless that would make no
        # progress (a one-turn window) or the repeated turn leaves no room for a new one.
        nxt = j + 1
        back = max(i + 1, j + 1 - OVERLAP_TURNS)
        if back < nxt and counter.count(window_text(back, nxt)) <= counter.budget:
            nxt = back
        i = nxt
    return chunks


def _split_turn(
    source: str,
    offset: tuple[int, int, int],
    speaker: str,
    lead: str,
    counter: TokenCounterLike,
    limit: int,
) -> list[tuple[int, int, str, int]]:
    """Pieces of one oversized turn: sentence spans packed within the budget, each
    rendered as header + label + words; the spans tile the turn's line."""
    text_start, text_end, line_start = offset
    full_label = f"{speaker}: "
    label = fit_line(speaker, counter, limit) + ": "
    spans = [s for s in sentence_spans(source, text_start, text_end) if s[1] > s[0]]
    if not spans:
        spans = [(text_start, text_end)]
    spans[0] = (line_start, spans[0][1])
    spans[-1] = (spans[-1][0], text_end + 1)
    render = _renderer(source, full_label, label, lead)
    return [(p.start, p.end, p.text, p.tokens) for p in pack_spans(source, spans, counter, render)]


def _renderer(source: str, full_label: str, label: str, lead: str) -> Callable[[int, int], str]:
    def render(s: int, e: int) -> str:
        body = source[s:e]
        if body.startswith(full_label):
            body = body[len(full_label) :]
        return lead + label + body.strip()

    return render
