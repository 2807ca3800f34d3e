"""Chunks of a CRM entity's rendering: one chunk per deal, company or contact when it fits.

The renderings (``sources/hubspot.py``, ``sources/apollo.py``) put the entity's header on
the first line ("Deal: Acme renewal (deal 42)") and one fact per line after it.
``chunk_crm_entity`` keeps a rendering whole when it fits the budget and otherwise cuts
it between lines, repeating the header on every continuation piece. Chunk offsets point
into the rendered text.
"""

from __future__ import annotations

import re

from .base import Chunk, TokenCounterLike, pack_spans

# The repeated header may take at most this share of the budget.
HEADER_SHARE = 3

_WS = re.compile(r"\s+")


def _clean(value: str) -> str:
    return _WS.sub(" ", value).strip()


def chunk_crm_entity(doc_id: str, rendered_text: str, counter: TokenCounterLike) -> list[Chunk]:
    """One chunk when the rendering fits; otherwise pieces cut between its lines (a line
    too long alone at sentences, words, characters), each continuation starting with the
    entity's header line. The spans tile ``[0, len(rendered_text))``; a text with no
    visible character yields no chunk."""
    text = rendered_text
    if not text.strip():
        return []
    lines: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        lines.append((pos, pos + len(line)))
        pos += len(line)
    # Leading blank lines belong to the first real line so that it is the header.
    first = next(i for i, (s, e) in enumerate(lines) if text[s:e].strip())
    header_end = lines[first][1]
    header = _fit_header(_clean(text[lines[first][0] : header_end]), counter)
    spans = [(0, header_end)] + lines[first + 1 :]

    def render(s: int, e: int) -> str:
        body = text[s:e].strip()
        if s < header_end:
            return body
        return f"{header}\n{body}" if body else header

    return [
        Chunk(doc_id, i, p.text, p.start, p.end, p.tokens, label=header)
        for i, p in enumerate(pack_spans(text, spans, counter, render))
    ]


def _fit_header(header: str, counter: TokenCounterLike) -> str:
    limit = max(8, counter.budget // HEADER_SHARE)
    if counter.count(header) <= limit:
        return header
    lo, hi = 0, len(header)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter.count(header[:mid] + "…") <= limit:
            lo = mid
        else:
            hi = mid - 1
    return header[:lo] + "…"
