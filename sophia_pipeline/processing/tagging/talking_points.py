"""Talking points: which of a configurable list of points a call (or its reps) covered.

Each point is a list of phrases; a phrase counts case-insensitively, on word boundaries,
with a plural "s"/"es" allowed ("integration" counts in "integrations"), overlapping
phrases once (the longest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sophia_pipeline.documents import Turn

from .catalog import DEFAULT_TALKING_POINTS
from .competitors import PhraseMatcher

PLURALS = ("s", "es")


@dataclass(frozen=True)
class TalkingPointHit:
    point: str
    phrase: str  # the configured phrase that matched
    start: int
    end: int
    speaker: str | None = None


class TalkingPointMatcher:
    def __init__(self, points: Mapping[str, Sequence[str]] = DEFAULT_TALKING_POINTS) -> None:
        self.points = {k: list(v) for k, v in points.items()}
        self._matcher = PhraseMatcher(self.points, suffixes=PLURALS)

    def find(self, text: str, speaker: str | None = None) -> list[TalkingPointHit]:
        return [
            TalkingPointHit(h.key, h.phrase, h.start, h.end, speaker)
            for h in self._matcher.find(text)
        ]

    def counts(self, text: str) -> dict[str, int]:
        """Hits per point found in ``text`` (points not found are absent)."""
        return _count(self.find(text))

    def in_turns(
        self, turns: Iterable[Turn], roles: Iterable[str] | None = ("rep",)
    ) -> list[TalkingPointHit]:
        """Hits in the turns of speakers with one of ``roles`` (``None``: every turn);
        offsets are into each turn's text. A turn with no role counts only when
        ``roles`` is ``None``: a point the prospect raised is not one the rep made."""
        wanted = None if roles is None else set(roles)
        out: list[TalkingPointHit] = []
        for t in turns:
            if wanted is not None and t.role not in wanted:
                continue
            out.extend(self.find(t.text, speaker=t.speaker))
        return out


def _count(hits: Iterable[TalkingPointHit]) -> dict[str, int]:
    out: dict[str, int] = {}
    for h in hits:
        out[h.point] = out.get(h.point, 0) + 1
    return out


def talking_points(
    text: str, points: Mapping[str, Sequence[str]] = DEFAULT_TALKING_POINTS
) -> dict[str, int]:
    """Hits per talking point in ``text``; builds a matcher, so reuse a
    ``TalkingPointMatcher`` when tagging many texts."""
    return TalkingPointMatcher(points).counts(text)


def coverage(hits: Iterable[TalkingPointHit], points: Iterable[str]) -> float:
    """The share of ``points`` with at least one hit (1.0 when no point is configured)."""
    wanted = list(points)
    if not wanted:
        return 1.0
    found = {h.point for h in hits}
    return sum(1 for p in wanted if p in found) / len(wanted)
