"""The labelled query set: derived from the run's own records, big enough, and its
paraphrases really share no keyword with the talking points they ask about."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from sophia_pipeline.sample.generator import generate
from sophia_pipeline.sample.queries import LABELS, TALKING_POINT_QUESTIONS
from sophia_pipeline.sample.vocab import TALKING_POINT_LINES

STOP = {"the", "a", "an", "and", "or", "to", "of", "in", "on", "for", "with", "our", "we",
        "did", "do", "their", "they", "is", "are", "who", "where", "when", "which", "how",
        "what", "after", "about", "more", "us", "any", "anyone", "itself", "that"}  # fmt: skip


def stems(text: str) -> set[str]:
    # A crude stemmer (first five letters) errs towards finding overlap: stricter than BM25.
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP}


def test_paraphrases_share_no_keyword_with_their_talking_point() -> None:
    for point, questions in TALKING_POINT_QUESTIONS.items():
        phrases = stems(" ".join(TALKING_POINT_LINES[point]))
        for q in questions:
            assert not stems(q) & phrases, (point, q, stems(q) & phrases)


def test_queries_point_at_generated_documents(tmp_path: Path) -> None:
    generate(tmp_path, reference_date=date(2026, 11, 24))
    queries = [json.loads(x) for x in (tmp_path / LABELS).read_text().splitlines()]
    assert len(queries) >= 40
    assert {q["kind"] for q in queries} == {"competitor", "talking_point", "account", "issue"}
    calls = {
        json.loads(line)["call_id"]
        for p in (tmp_path / "gong" / "calls").glob("*.jsonl")
        for line in p.read_text().splitlines()
    }
    for q in queries:
        assert q["relevant"], q
        for doc in q["relevant"]:
            if doc.startswith("gong:call:"):
                assert doc.removeprefix("gong:call:") in calls
    # Same seed, same file: ids are derived, not random.
    first = (tmp_path / LABELS).read_bytes()
    generate(tmp_path, reference_date=date(2026, 11, 24))
    assert (tmp_path / LABELS).read_bytes() == first
