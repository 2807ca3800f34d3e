"""Tags for stored documents: competitor mention rows, and the per-call tags of
GONG_INTELLIGENCE.CALL_TRANSCRIPTS. Pure: rows in, rows out."""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sophia_pipeline.documents import Turn

from .tagging.competitors import CompetitorMatcher
from .tagging.outcome import call_outcome
from .tagging.sentiment import weighted_mean
from .tagging.talking_points import TalkingPointMatcher


def document_mentions(
    doc: Mapping[str, Any], chunks: Sequence[Mapping[str, Any]], matcher: CompetitorMatcher
) -> list[dict[str, Any]]:
    """One row per mention in the document's source text, attributed to the chunk whose
    span holds it. Matching the source text (not chunk texts) counts a mention once even
    where chunks repeat a heading or overlap."""
    if doc["deleted"] or not doc["text"]:
        return []
    spans = sorted((int(c["start_char"]), int(c["end_char"]), str(c["chunk_id"])) for c in chunks)
    starts = [s for s, _, _ in spans]
    rows = []
    for m in matcher.find(doc["text"], doc_id=doc["doc_id"]):
        i = bisect.bisect_right(starts, m.start) - 1
        chunk_id = spans[i][2] if i >= 0 and m.start < spans[i][1] else f"{doc['doc_id']}#?"
        rows.append(
            {
                "mention_id": f"{doc['doc_id']}@{m.start}",
                "chunk_id": chunk_id,
                "doc_id": doc["doc_id"],
                "source": doc["source"],
                "competitor": m.competitor,
                "alias": m.alias,
                "matched_text": m.matched,
                "context": m.context,
                "sentiment": m.sentiment,
                "threat_level": m.threat,
                "account_id": doc["account_id"],
                "deal_id": doc["deal_id"],
                "mentioned_at": doc["occurred_at"],
                "partition_date": doc["partition_date"],
            }
        )
    return rows


def call_tags(
    doc: Mapping[str, Any],
    chunks: Sequence[Mapping[str, Any]],
    mentions: Sequence[Mapping[str, Any]],
    deals: Mapping[str, Any],
    talking_points: TalkingPointMatcher,
) -> dict[str, Any]:
    """sentiment_score (token-weighted mean of chunk sentiment), competitive_mentions,
    talking_points_used (by reps only) and outcome_category (the linked deal's stage)."""
    turns = [Turn.model_validate(t) for t in json.loads(doc["turns"] or "[]")]
    scored = [c for c in chunks if c["sentiment"] is not None]
    score = weighted_mean(
        [float(c["sentiment"]) for c in scored], [int(c["tokens"]) for c in scored]
    )
    used = sorted({h.point for h in talking_points.in_turns(turns, roles=("rep",))})
    return {
        "sentiment_score": score,
        "competitive_mentions": json.dumps(
            [
                {
                    "competitor": m["competitor"],
                    "alias": m["alias"],
                    "chunk_id": m["chunk_id"],
                    "threat_level": int(m["threat_level"]),
                    "sentiment": round(float(m["sentiment"]), 4),
                }
                for m in mentions
            ]
        ),
        "talking_points_used": json.dumps(used),
        "outcome_category": call_outcome(doc["deal_id"], deals),
    }
