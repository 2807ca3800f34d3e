"""What every chunker returns, and the shared splitting helpers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class TokenCounterLike(Protocol):
    budget: int

    def count(self, text: str) -> int: ...


# One version per strategy, bumped whenever that strategy's output for the same input
# changes: the vector manifest keys on it, so a change rewrites exactly the documents of
# that kind (and the content-hash cache re-embeds only chunks whose text changed).
CHUNKER_VERSIONS: dict[str, str] = {"conversation": "2", "document": "2", "code": "1", "crm": "1"}


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    ordinal: int
    text: str  # what gets embedded: any prefix/label plus the source span
    start: int  # character offsets into the document's source text: [start, end)
    end: int
    tokens: int  # measured by the model's tokenizer, special tokens included
    label: str | None = None  # e.g. the speaker, or the heading path

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.ordinal}"

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Contiguous spans of ``text[start:end]``, one per sentence; trailing space stays
    with the sentence before it so the spans tile the range exactly."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        # m.start() > pos: a break needs words before it in this range (the lookbehind
        # can see a "." just before ``start``, which is not this range's sentence).
        if m.start() > pos:
            spans.append((pos, m.end()))
            pos = m.end()
    if pos < end:
        spans.append((pos, end))
    return spans


_WORD = re.compile(r"\S+\s*")


def word_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans tiling ``text[start:end]`` at whitespace, each word with its trailing space."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    if not spans:
        return [(start, end)] if end > start else []
    # Leading whitespace before the first word belongs to it, so the tiling is exact.
    if spans[0][0] > start:
        spans[0] = (start, spans[0][1])
    return spans


@dataclass(frozen=True)
class Piece:
    """A packed span before it is numbered: ``text`` is its rendering (label + span)."""

    start: int
    end: int
    text: str
    tokens: int


Render = Callable[[int, int], str]


def prefixed(source: str, prefix: str = "") -> Render:
    """The default rendering: ``prefix`` + the stripped span."""
    return lambda s, e: prefix + source[s:e].strip()


def pack_spans(
    source: str,
    spans: list[tuple[int, int]],
    counter: TokenCounterLike,
    render: Render | None = None,
) -> list[Piece]:
    """Greedily packs consecutive spans into pieces of at most ``counter.budget`` tokens.

    A span that cannot fit alone is split at sentence, then word, then character
    boundaries, so no piece ever exceeds the budget and the pieces tile the spans.
    """
    pieces: list[Piece] = []
    cur_start: int | None = None
    cur_end = 0
    cur_tokens = 0

    render = render or prefixed(source)

    def flush() -> None:
        nonlocal cur_start
        if cur_start is not None:
            pieces.append(Piece(cur_start, cur_end, render(cur_start, cur_end), cur_tokens))
        cur_start = None

    for s, e in spans:
        if cur_start is not None:
            n = counter.count(render(cur_start, e))
            if n <= counter.budget:
                cur_end, cur_tokens = e, n
                continue
            flush()
        n = counter.count(render(s, e))
        if n <= counter.budget:
            cur_start, cur_end, cur_tokens = s, e, n
            continue
        pieces.extend(_split_oversized(source, s, e, counter, render))
    flush()
    return pieces


def _split_oversized(
    source: str, s: int, e: int, counter: TokenCounterLike, render: Render
) -> list[Piece]:
    sentences = sentence_spans(source, s, e)
    if len(sentences) > 1:
        return pack_spans(source, sentences, counter, render)
    words = word_spans(source, s, e)
    if len(words) > 1:
        return pack_spans(source, words, counter, render)
    return _split_chars(source, s, e, counter, render)


def _split_chars(
    source: str, s: int, e: int, counter: TokenCounterLike, render: Render
) -> list[Piece]:
    """Last resort for one unbroken run of characters: the longest prefix that fits,
    found by binary search, repeatedly."""
    out: list[Piece] = []
    while s < e:
        lo, hi = s + 1, e
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if counter.count(render(s, mid)) <= counter.budget:
                lo = mid
            else:
                hi = mid - 1
        text = render(s, lo)
        out.append(Piece(s, lo, text, counter.count(text)))
        s = lo
    return out
