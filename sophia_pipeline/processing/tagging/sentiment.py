"""Sentiment: VADER's compound score per text, and a call's token-weighted mean.

VADER is lexicon- and rule-based (no model to load, nothing downloaded), tuned for
short social-media-like utterances, which is close to what chunks of a call are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


class _Scored(Protocol):
    text: str
    tokens: int


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER's compound score of ``text`` in [-1, 1]: below -0.05 reads negative, above
    0.05 positive; 0.0 for a text with no words."""
    if not text.strip():
        return 0.0
    scores = _analyzer().polarity_scores(text)
    return float(scores["compound"])


def sentiments(texts: Iterable[str]) -> list[float]:
    return [sentiment(t) for t in texts]


def label(score: float, threshold: float = 0.05) -> str:
    """ "positive" | "negative" | "neutral" by VADER's customary cut-offs."""
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"


def weighted_mean(scores: Sequence[float], weights: Sequence[float]) -> float | None:
    """The mean of ``scores`` weighted by ``weights``; ``None`` when there is no weight
    at all (an empty call has no sentiment, which is not the same as a neutral one)."""
    if len(scores) != len(weights):
        raise ValueError(f"{len(scores)} scores but {len(weights)} weights")
    total = float(sum(w for w in weights if w > 0))
    if total <= 0:
        return None
    return sum(s * w for s, w in zip(scores, weights, strict=True) if w > 0) / total


def call_sentiment(chunks: Sequence[_Scored]) -> float | None:
    """A call's sentiment: the mean of its chunks' scores weighted by their token counts,
    so a long monologue counts for more than a one-word reply."""
    return weighted_mean([sentiment(c.text) for c in chunks], [c.tokens for c in chunks])
