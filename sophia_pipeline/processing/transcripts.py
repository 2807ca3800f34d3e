"""Rows of GONG_INTELLIGENCE.CALL_TRANSCRIPTS from documents, chunks and mentions."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from .frames import records
from .tag_documents import call_tags
from .tagging.talking_points import TalkingPointMatcher


def _by_doc(df: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in records(df) if len(df) else []:
        out[row["doc_id"]].append(row)
    return out


def transcript_rows(
    docs: pd.DataFrame,
    chunks: pd.DataFrame,
    mentions: pd.DataFrame,
    deals: dict[str, Any],
    talking_points: TalkingPointMatcher,
) -> pd.DataFrame:
    chunks_of, mentions_of = _by_doc(chunks), _by_doc(mentions)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for d in records(docs):
        if d["deleted"]:
            continue
        turns = json.loads(d["turns"] or "[]")
        people = sorted({(t["speaker"], t.get("role") or "") for t in turns})
        attrs = json.loads(d["attributes"] or "{}")
        doc_chunks = chunks_of.get(d["doc_id"], [])
        rows.append(
            {
                "call_id": d["source_id"],
                "doc_id": d["doc_id"],
                "title": d["title"],
                "call_date": d["partition_date"],
                "started_at": d["occurred_at"],
                "duration_s": attrs.get("duration_s"),
                "account_id": d["account_id"],
                "deal_id": d["deal_id"],
                "rep_email": d["author"],
                "participants": json.dumps([{"name": n, "role": r} for n, r in people]),
                "turn_count": len(turns),
                "transcript": d["text"],
                "transcript_chunks": len(doc_chunks),
                **call_tags(d, doc_chunks, mentions_of.get(d["doc_id"], []), deals, talking_points),
                "updated_at": now,
            }
        )
    return pd.DataFrame(rows)
