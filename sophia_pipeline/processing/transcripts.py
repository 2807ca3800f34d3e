"""Rows of GONG_INTELLIGENCE.CALL_TRANSCRIPTS from documents and chunks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd


def transcript_rows(docs: pd.DataFrame, chunks: pd.DataFrame) -> pd.DataFrame:
    chunk_counts = chunks.groupby("doc_id").size().to_dict() if len(chunks) else {}
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for d in docs.itertuples():
        if d.deleted:
            continue
        turns = json.loads(d.turns or "[]")
        people = sorted({(t["speaker"], t.get("role") or "") for t in turns})
        attrs = json.loads(d.attributes or "{}")
        rows.append(
            {
                "call_id": d.source_id,
                "doc_id": d.doc_id,
                "title": d.title,
                "call_date": d.partition_date,
                "started_at": d.occurred_at,
                "duration_s": attrs.get("duration_s"),
                "account_id": d.account_id,
                "deal_id": d.deal_id,
                "rep_email": d.author,
                "participants": json.dumps([{"name": n, "role": r} for n, r in people]),
                "turn_count": len(turns),
                "transcript": d.text,
                "transcript_chunks": int(chunk_counts.get(d.doc_id, 0)),
                "updated_at": now,
            }
        )
    return pd.DataFrame(rows)
