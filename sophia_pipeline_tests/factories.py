"""Small hand-built landing records for tests that must not depend on the generator."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from sophia_pipeline.resources.vector_store import EMBEDDING_DIM, VectorRecord

LONG_MONOLOGUE = " ".join(
    f"Point {i}: our current vendor Salesforce charges per seat and the renewal is painful."
    for i in range(40)
)


def gong_call(call_id: str, day: date, long_turn: bool = False, n_turns: int = 6) -> dict:
    started = datetime.combine(day, time(15, 30), tzinfo=UTC)
    participants = [
        {"speaker_id": "s1", "name": "Rita Rep", "role": "rep", "email": "rita@sophia.example"},
        {"speaker_id": "s2", "name": "Paul Prospect", "role": "prospect", "company": "Acme"},
    ]
    turns = []
    for i in range(n_turns):
        speaker = "s1" if i % 3 != 2 else "s2"
        text = f"Turn {i} of call {call_id}. We talked about pricing and next steps."
        turns.append({"speaker_id": speaker, "start_s": float(i * 30), "text": text})
    if long_turn:
        turns.append({"speaker_id": "s2", "start_s": 999.0, "text": LONG_MONOLOGUE})
    turns.append({"speaker_id": "s1", "start_s": 1200.0, "text": f"Closing words of {call_id}."})
    return {
        "call_id": call_id,
        "title": f"Discovery call {call_id}",
        "started": started.isoformat().replace("+00:00", "Z"),
        "duration_s": 1800,
        "account_id": "hs-co-1",
        "deal_id": "hs-deal-1",
        "rep_email": "rita@sophia.example",
        "participants": participants,
        "turns": turns,
    }


def write_gong_day(
    landing_dir: Path, day: date, calls: list[dict], extra_lines: list[str] = ()
) -> Path:  # type: ignore[assignment]
    folder = landing_dir / "gong" / "calls"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day.isoformat()}.jsonl"
    lines = [json.dumps(c, sort_keys=True) for c in calls] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def small_gong_landing(
    landing_dir: Path, first_day: date, days: int = 3, per_day: int = 2
) -> list[str]:
    ids = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        calls = [gong_call(f"c{d}-{k}", day, long_turn=(k == 0 and d == 0)) for k in range(per_day)]
        ids.extend(c["call_id"] for c in calls)
        write_gong_day(landing_dir, day, calls)
    return ids


def vector_record(i: int) -> VectorRecord:
    """A vector row for call ``i``: its own constant vector, so rows differ."""
    return VectorRecord(
        id=f"gong:call:{i}#0",
        vector=np.full(EMBEDDING_DIM, 1.0 + i, dtype=np.float32),
        text=f"chunk {i}",
        doc_id=f"gong:call:{i}",
        source="gong",
        content_hash=f"h{i}",
        partition_date="2026-09-01",
    )
