"""Competitor mentions: multi-pattern matching (Aho-Corasick), context, sentiment, threat.

Matching is case-insensitive and on word boundaries: an alias that starts (ends) with a
letter or digit must not have one right before (after) it, so "Salesforce's" and
"HubSpot-like" count, "salesforcey" and "zohomail" do not. Among overlapping matches the
leftmost-longest wins, so "Gong.io" is one Gong mention (not "Gong" plus "io") and
"Zoho CRM" one Zoho mention.

Who counts as a competitor is the deployment's catalog (``catalog.py``): the company's
own CRM and call recorder are integrations, not threats. A name inside code (a backtick
span, a fenced block, a shell command, a flag's value, a path) or that integration words
attach to ("Add Pipedrive connector", "sync with HubSpot") is not a mention
(``mention_context.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick

from .catalog import CompetitorCatalog, default_catalog
from .mention_context import (
    DEFAULT_CUES,
    NameSpan,
    code_reason,
    code_spans,
    homonym_reason,
    integration_reason,
)
from .sentiment import sentiment

# --- phrase matching (shared with the talking-point tagger) -------------------------


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def fold(text: str) -> str:
    """Lower-cased ``text`` of the same length, so offsets found in it are offsets into
    ``text`` (a few characters, like "İ", lower-case to two and are kept as they are)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@dataclass(frozen=True)
class PhraseHit:
    key: str  # the canonical name the phrase stands for
    phrase: str  # the phrase as configured
    start: int  # [start, end) in the searched text
    end: int


class PhraseMatcher:
    """Finds configured phrases in a text in one pass (Aho-Corasick), case-insensitive,
    on word boundaries, leftmost-longest among overlaps.

    ``suffixes`` may follow a phrase that ends in a letter before the boundary (``("s",
    "es")`` lets "integration" match "integrations"); the hit then includes them.
    """

    def __init__(self, phrases: Mapping[str, Sequence[str]], suffixes: Sequence[str] = ()) -> None:
        self._suffixes = tuple(fold(s) for s in suffixes if s)
        self._automaton: Any = ahocorasick.Automaton()
        count = 0
        for key, aliases in phrases.items():
            for alias in aliases or [key]:
                folded = fold(alias.strip())
                if not folded:
                    continue
                # The first configuration of a phrase wins when two keys share it.
                if self._automaton.exists(folded):
                    continue
                self._automaton.add_word(folded, (key, alias.strip(), len(folded)))
                count += 1
        self._empty = count == 0
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[PhraseHit]:
        if self._empty or not text:
            return []
        folded = fold(text)
        hits: list[PhraseHit] = []
        for last, (key, alias, n) in self._automaton.iter(folded):
            start, end = last + 1 - n, last + 1
            if _is_word(folded[start]) and start > 0 and _is_word(folded[start - 1]):
                continue
            if _is_word(folded[end - 1]) and end < len(folded) and _is_word(folded[end]):
                end = self._with_suffix(folded, end)
                if end < 0:
                    continue
            hits.append(PhraseHit(key, alias, start, end))
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        out: list[PhraseHit] = []
        for h in hits:
            if not out or h.start >= out[-1].end:
                out.append(h)
        return out

    def _with_suffix(self, folded: str, end: int) -> int:
        """The end past an allowed suffix that closes the word, or -1."""
        for suffix in self._suffixes:
            stop = end + len(suffix)
            if folded.startswith(suffix, end) and (
                stop == len(folded) or not _is_word(folded[stop])
            ):
                return stop
        return -1


# --- competitor mentions ------------------------------------------------------------

# Context cues that raise a mention's threat level, one point per group found.
THREAT_CUES: dict[str, list[str]] = {
    "evaluating": [
        "evaluating",
        "evaluate",
        "evaluation",
        "looking at",
        "comparing",
        "compare",
        "considering",
        "consider",
        "trial",
        "pilot",
        "demo",
        "proof of concept",
        "poc",
        "shortlist",
        "short list",
        "alternative",
        "versus",
        "vs",
        "rfp",
        "bake-off",
    ],
    "incumbent": [
        "already using",
        "already use",
        "currently using",
        "currently use",
        "we use",
        "we're using",
        "we are using",
        "we're on",
        "we are on",
        "existing",
        "incumbent",
        "contract with",
        "under contract",
        "renewal",
        "renew",
        "locked in",
        "signed with",
        "went with",
        "switched to",
        "standardized on",
    ],
    "pricing_or_switching": [
        "price",
        "pricing",
        "priced",
        "cheaper",
        "cheap",
        "cost",
        "costs",
        "discount",
        "quote",
        "budget",
        "switch",
        "switching",
        "move to",
        "moving to",
        "migrate",
        "migrating",
        "migration",
        "replace",
        "replacing",
        "rip out",
    ],
}
NEGATIVE_SENTIMENT = -0.05


@dataclass(frozen=True)
class Mention:
    competitor: str  # canonical name
    alias: str  # the configured alias that matched
    matched: str  # the text as written ("Salesforce's" -> "Salesforce")
    start: int
    end: int
    context: str  # the window around the mention
    context_start: int
    context_end: int
    sentiment: float  # VADER compound of the window
    threat: int  # 1..5, see CompetitorMatcher
    cues: tuple[str, ...] = ()  # the THREAT_CUES groups found in the window
    doc_id: str | None = None


class CompetitorMatcher:
    """Finds competitor mentions and rates each one's threat to the deal.

    Threat level, from the context window (``window_chars`` either side, cut at word
    boundaries), 1 to 5::

        1  a mention and nothing more
        +1 an evaluation cue ("evaluating", "looking at", "trial", "demo", "vs", ...)
        +1 an incumbency cue ("already using", "we're on", "contract with", "renewal", ...)
        +1 a pricing or switching cue ("cheaper", "discount", "switch", "migrate", ...)
        +1 the window's VADER sentiment is negative (<= -0.05): friction in the talk

    A prospect weighing a cheaper competitor it already runs, unhappily, scores 5.
    ``cues`` lists the groups found, so a dashboard can say why.

    ``competitors`` is a catalog (competitors, integrations, homonyms), a plain mapping of
    names to aliases (no integrations), or None for the packaged demo catalog.
    """

    def __init__(
        self,
        competitors: CompetitorCatalog | Mapping[str, Sequence[str]] | None = None,
        window_chars: int = 150,
        cues: Mapping[str, Sequence[str]] = THREAT_CUES,
    ) -> None:
        if competitors is None:
            competitors = default_catalog()
        if not isinstance(competitors, CompetitorCatalog):
            competitors = CompetitorCatalog(
                competitors={k: list(v) for k, v in competitors.items()}
            )
        self.catalog = competitors
        self.competitors = {k: list(v) for k, v in competitors.competitors.items()}
        self.window_chars = window_chars
        self._names = PhraseMatcher(self.competitors)
        # Integrations are found too: a nearby one may own an integration cue.
        self._all = PhraseMatcher({**self.competitors, **competitors.integrations})
        self._rivals = set(self.competitors)
        self._cues = PhraseMatcher(cues)

    def classify(self, text: str) -> list[tuple[PhraseHit, str | None]]:
        """Every competitor name found in ``text``, with the reason it is not a mention
        (None: it is one): code, integration talk, or a homonym read as a word."""
        hits = self._all.find(text)
        spans = code_spans(text) if "`" in text or "~~~" in text else []
        names = [NameSpan(h.start, h.end) for h in hits]
        out: list[tuple[PhraseHit, str | None]] = []
        for hit in hits:
            if hit.key not in self._rivals:
                continue
            reason = (
                homonym_reason(text, hit.start, hit.end, hit.phrase, self.catalog.homonyms)
                or code_reason(text, hit.start, hit.end, spans)
                or integration_reason(text, hit.start, hit.end, names, DEFAULT_CUES)
            )
            out.append((hit, reason))
        return out

    def find(self, text: str, doc_id: str | None = None, offset: int = 0) -> list[Mention]:
        """Every mention in ``text``, in order. Offsets are into ``text`` plus ``offset``
        (pass a chunk's start to get offsets into its document)."""
        out: list[Mention] = []
        for hit, reason in self.classify(text):
            if reason is not None:
                continue
            cs, ce = self._window(text, hit.start, hit.end)
            context = text[cs:ce]
            score = sentiment(context)
            found = tuple(sorted({c.key for c in self._cues.find(context)}))
            threat = min(5, 1 + len(found) + (1 if score <= NEGATIVE_SENTIMENT else 0))
            out.append(
                Mention(
                    competitor=hit.key,
                    alias=hit.phrase,
                    matched=text[hit.start : hit.end],
                    start=hit.start + offset,
                    end=hit.end + offset,
                    context=context,
                    context_start=cs + offset,
                    context_end=ce + offset,
                    sentiment=score,
                    threat=threat,
                    cues=found,
                    doc_id=doc_id,
                )
            )
        return out

    def _window(self, text: str, start: int, end: int) -> tuple[int, int]:
        cs = max(0, start - self.window_chars)
        ce = min(len(text), end + self.window_chars)
        # Cut at whitespace so the window holds no half word (which could read as a cue).
        if cs > 0 and not text[cs - 1].isspace():
            nxt = next((i for i in range(cs, start) if text[i].isspace()), start)
            cs = nxt
        if ce < len(text) and not text[ce].isspace():
            prev = next((i for i in range(ce, end, -1) if text[i - 1].isspace()), end)
            ce = prev
        while cs < start and text[cs].isspace():
            cs += 1
        while ce > end and text[ce - 1].isspace():
            ce -= 1
        return cs, ce


def summarize_mentions(mentions: Iterable[Mention]) -> dict[str, dict[str, float | int]]:
    """Per competitor: ``mentions`` (count), ``max_threat`` and ``mean_sentiment``."""
    acc: dict[str, list[Mention]] = {}
    for m in mentions:
        acc.setdefault(m.competitor, []).append(m)
    return {
        name: {
            "mentions": len(ms),
            "max_threat": max(m.threat for m in ms),
            "mean_sentiment": sum(m.sentiment for m in ms) / len(ms),
        }
        for name, ms in sorted(acc.items())
    }


# --- scoring against labelled samples ----------------------------------------------

_Key = tuple[Any, ...]


def _normalize(item: Any) -> tuple[_Key, tuple[int, int] | None]:
    """(key, span) of a scored item: a ``Mention``; a ``(competitor, start, end)`` or
    ``(doc_id, competitor, start, end)`` tuple; a mapping with ``competitor`` and
    optionally ``doc_id``/``start``/``end``; or any other hashable (e.g.
    ``(call_id, competitor)``), compared for equality."""
    if isinstance(item, Mention):
        return (item.doc_id, item.competitor), (item.start, item.end)
    if isinstance(item, Mapping) and "competitor" in item:
        span = (int(item["start"]), int(item["end"])) if "start" in item else None
        return (item.get("doc_id"), item["competitor"]), span
    if (
        isinstance(item, tuple)
        and len(item) in (3, 4)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in item[-2:])
    ):
        doc = item[0] if len(item) == 4 else None
        return (doc, item[-3]), (item[-2], item[-1])
    return (item,), None


def score_mentions(predicted: Iterable[Any], truth: Iterable[Any]) -> tuple[float, float]:
    """(precision, recall) of ``predicted`` mentions against labelled ``truth``.

    Items with spans match one-to-one when their doc and competitor agree and their
    spans overlap (a label "Salesforce's" still matches a predicted "Salesforce");
    items without spans match on equality, counting multiplicity. An empty prediction
    has precision 1.0 and an empty truth recall 1.0 (nothing claimed is wrong, nothing
    to find was missed).
    """
    preds = [_normalize(p) for p in predicted]
    gold = [_normalize(t) for t in truth]
    used = [False] * len(preds)
    tp = 0
    for key, span in gold:
        for i, (pkey, pspan) in enumerate(preds):
            if used[i] or pkey != key:
                continue
            if span is None or pspan is None or (pspan[0] < span[1] and span[0] < pspan[1]):
                used[i] = True
                tp += 1
                break
    precision = tp / len(preds) if preds else 1.0
    recall = tp / len(gold) if gold else 1.0
    return precision, recall
