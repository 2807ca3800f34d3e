"""Scores the taggers against the sample generator's ground-truth labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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
