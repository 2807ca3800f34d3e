"""Scores the taggers against ground truth: the sample generator's labels
(``score_gong``: does the matcher find every naming of a product?) and a hand-labelled
set of excerpts (``score_labelled``: does it count only real competitor mentions?)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sophia_pipeline.documents import render_turns
from sophia_pipeline.processing.tagging.competitors import CompetitorMatcher, score_mentions
from sophia_pipeline.processing.tagging.talking_points import TalkingPointMatcher
from sophia_pipeline.sources import gong

from .vocab import SAMPLE_PRODUCTS


@dataclass(frozen=True)
class TaggerScore:
    calls: int
    true_mentions: int
    predicted_mentions: int
    mention_precision: float
    mention_recall: float
    call_competitor_precision: float  # per (call, competitor) pair
    call_competitor_recall: float
    talking_point_accuracy: float  # calls whose set of points used by reps is exactly right


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def score_gong(landing_dir: Path) -> TaggerScore:
    labels = {
        row["call_id"]: row
        for row in map(
            json.loads, (landing_dir / "_labels" / "gong_calls.jsonl").read_text().splitlines()
        )
    }
    # The sample labels every naming of a product it speaks of, so the matcher here knows
    # all of them: this scores the matching (aliases, boundaries, possessives), not a
    # deployment's choice of competitors (bench/data/competitor_mentions_labelled.jsonl).
    matcher, points = CompetitorMatcher(SAMPLE_PRODUCTS), TalkingPointMatcher()
    predicted: list[tuple[str, str, int, int]] = []
    truth: list[tuple[str, str, int, int]] = []
    pred_pairs: set[tuple[str, str]] = set()
    true_pairs: set[tuple[str, str]] = set()
    points_right = 0
    for path in sorted((landing_dir / "gong" / "calls").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            call = gong.GongCall.model_validate_json(line)
            doc = gong.normalize(call)
            label = labels[call.call_id]
            _, offsets = render_turns(doc.turns)
            for m in matcher.find(doc.text):
                predicted.append((call.call_id, m.competitor, m.start, m.end))
                pred_pairs.add((call.call_id, m.competitor))
            for t in label["mentions"]:
                base = offsets[t["turn_index"]][0]
                truth.append(
                    (call.call_id, t["competitor"], base + t["char_start"], base + t["char_end"])
                )
            true_pairs.update((call.call_id, c) for c in label["competitors"])
            used = sorted({h.point for h in points.in_turns(doc.turns, roles=("rep",))})
            points_right += used == sorted(label["talking_points"])
    precision, recall = score_mentions(predicted, truth)
    return TaggerScore(
        calls=len(labels),
        true_mentions=len(truth),
        predicted_mentions=len(predicted),
        mention_precision=precision,
        mention_recall=recall,
        call_competitor_precision=_ratio(len(pred_pairs & true_pairs), len(pred_pairs)),
        call_competitor_recall=_ratio(len(pred_pairs & true_pairs), len(true_pairs)),
        talking_point_accuracy=_ratio(points_right, len(labels)),
    )


@dataclass(frozen=True)
class LabelledScore:
    items: int
    true_mentions: int
    predicted_mentions: int
    precision: float
    recall: float
    # item id -> (predicted, expected) (competitor, surface) pairs, where they differ
    errors: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


def labelled_spans(item: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(competitor, start, end) of an item's labelled mentions: each label names the
    surface as written and which of its occurrences (on word boundaries) it means."""
    out = []
    for m in item["mentions"]:
        pattern = re.compile(rf"(?<!\w){re.escape(m['surface'])}(?!\w)")
        found = list(pattern.finditer(item["text"]))
        k = int(m.get("occurrence", 0))
        if k >= len(found):
            raise ValueError(f"{item['id']}: {m['surface']!r} occurrence {k} not in the text")
        out.append((m["competitor"], found[k].start(), found[k].end()))
    return out


def score_labelled(items: Iterable[Mapping[str, Any]], matcher: CompetitorMatcher) -> LabelledScore:
    """Span-level precision and recall of ``matcher`` on hand-labelled excerpts."""
    predicted: list[tuple[str, str, int, int]] = []
    truth: list[tuple[str, str, int, int]] = []
    errors: dict[str, tuple[list[str], list[str]]] = {}
    n = 0
    for item in items:
        n += 1
        text = item["text"]
        got = [(m.competitor, m.start, m.end) for m in matcher.find(text)]
        want = labelled_spans(item)
        predicted += [(item["id"], c, s, e) for c, s, e in got]
        truth += [(item["id"], c, s, e) for c, s, e in want]
        item_p, item_r = score_mentions(
            [(c, s, e) for c, s, e in got], [(c, s, e) for c, s, e in want]
        )
        if item_p < 1.0 or item_r < 1.0:
            errors[item["id"]] = (
                [f"{c}@{text[s:e]}" for c, s, e in got],
                [f"{c}@{text[s:e]}" for c, s, e in want],
            )
    precision, recall = score_mentions(predicted, truth)
    return LabelledScore(n, len(truth), len(predicted), precision, recall, errors)


def read_labelled(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
