"""Extractive text selection shared by the call summarizer (``processing/summaries.py``)
and the question answerer (``serving/answer.py``): sentence splitting, content terms,
and ranking sentences against a set of weighted terms. Pure, no I/O, no model.

It sits at the top of the package, beside ``documents.py``, because its two users live
in layers that may not import each other (serving never imports processing).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# A sentence ends at . ! or ? followed by space and what starts a sentence, or at a line
# break (transcripts and chat put one utterance per line).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\s*\n+\s*")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just let me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that
    the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would
    you your yours yourself yourselves i'm i'll i'd i've we're we'll we've we'd you're
    you'll it's that's there's let's don't doesn't didn't can't won't isn't aren't wasn't
    also get got go going gonna yeah yes okay ok oh um uh like really just well sure right
    thing things much many lot""".split()  # noqa: SIM905 (a word list reads better as prose)
)


def sentences(text: str) -> list[str]:
    """``text`` split into trimmed, non-empty sentences, in order."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


def _stem(word: str) -> str:
    """A light suffix strip so "competitors"/"competitor" and "pricing"/"priced" meet;
    not linguistics, just enough for overlap counting."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ies", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    # "price", "priced", "pricing" all end as "pric".
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def terms(text: str) -> list[str]:
    """The content terms of ``text``: lower-case words, stopwords dropped, stemmed."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def idf(documents: Iterable[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of every term of ``documents`` (term lists)."""
    df: Counter[str] = Counter()
    n = 0
    for doc in documents:
        n += 1
        df.update(set(doc))
    return {t: math.log(1 + n / c) for t, c in df.items()}


@dataclass(frozen=True)
class Scored:
    index: int  # position of the sentence in the candidates given
    score: float


def rank(
    candidates: Sequence[str],
    weights: Mapping[str, float],
    *,
    min_terms: int = 3,
) -> list[Scored]:
    """The candidates that share a weighted term, best first: the sum of the weights of
    the distinct terms they share, divided by the square root of their length in terms
    (so a long sentence does not win by size alone). Sentences under ``min_terms``
    content terms ("Sounds good.") are never picked. Ties keep the candidates' order."""
    scored: list[Scored] = []
    for i, sentence in enumerate(candidates):
        ts = terms(sentence)
        if len(ts) < min_terms:
            continue
        score = sum(weights.get(t, 0.0) for t in set(ts)) / math.sqrt(len(ts))
        if score > 0:
            scored.append(Scored(i, score))
    return sorted(scored, key=lambda s: (-s.score, s.index))


def pick(
    candidates: Sequence[str], ranked: Iterable[Scored], k: int, *, max_overlap: float = 0.7
) -> list[int]:
    """Up to ``k`` indices from ``ranked`` (best first), skipping a sentence whose terms
    mostly repeat one already picked (Jaccard overlap above ``max_overlap``)."""
    chosen: list[int] = []
    seen: list[set[str]] = []
    for s in ranked:
        ts = set(terms(candidates[s.index]))
        if any(len(ts & o) / max(1, len(ts | o)) > max_overlap for o in seen):
            continue
        chosen.append(s.index)
        seen.append(ts)
        if len(chosen) == k:
            break
    return chosen


def centrality_weights(candidates: Sequence[str]) -> dict[str, float]:
    """Term weights for a summary: how often a term recurs across the candidates, times
    its idf over them, so the call's recurring topics count and filler does not."""
    term_lists = [terms(c) for c in candidates]
    weights = idf(term_lists)
    tf: Counter[str] = Counter(t for ts in term_lists for t in set(ts))
    return {t: (tf[t] - 1) * w for t, w in weights.items() if tf[t] > 1}
