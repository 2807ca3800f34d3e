"""Variety the chunkers need, and dates that stay inside the 90-day window."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sophia_pipeline.processing.tokens import HFTokenCounter, default_counter

from .landing import JSONL_FOLDERS, REFERENCE_DATE, costar_rows, iter_jsonl, records

START = datetime(2024, 3, 3, tzinfo=UTC)  # REFERENCE_DATE - 90 days
END = datetime(2024, 6, 1, tzinfo=UTC)
SENTENCE = re.compile(r"[.!?](\s|$)")


def test_window_constants() -> None:
    assert END.date() == REFERENCE_DATE
    assert END - timedelta(days=90) == START


@pytest.fixture(scope="module")
def counter() -> HFTokenCounter:
    return default_counter()


def test_some_gong_turns_exceed_the_model_window(landing: Path, counter: HFTokenCounter) -> None:
    calls = records(landing, "gong/calls")
    long_calls = [c for c in calls if any(len(t["text"].split()) >= 300 for t in c["turns"])]
    assert 3 <= len(long_calls) <= 12  # about one call in ten
    for call in long_calls:
        longest = max(call["turns"], key=lambda t: len(t["text"]))
        assert counter.count(longest["text"]) > 256


def test_most_turns_are_short(landing: Path) -> None:
    turns = [t for c in records(landing, "gong/calls") for t in c["turns"]]
    short = [t for t in turns if len(SENTENCE.findall(t["text"])) <= 4]
    assert len(short) / len(turns) > 0.9


def test_some_calls_are_long_and_speakers_repeat(landing: Path) -> None:
    calls = records(landing, "gong/calls")
    assert sum(len(c["turns"]) >= 40 for c in calls) >= 5
    repeats = sum(
        a["speaker_id"] == b["speaker_id"]
        for c in calls
        for a, b in zip(c["turns"], c["turns"][1:], strict=False)
    )
    alternations = sum(len(c["turns"]) - 1 for c in calls) - repeats
    assert 0 < repeats < alternations / 3


def test_some_linear_descriptions_exceed_the_model_window(
    landing: Path, counter: HFTokenCounter
) -> None:
    issues = records(landing, "linear/issues")
    long = [i for i in issues if counter.count(i["description"]) > 256]
    assert len(long) >= 10
    assert any("```" in i["description"] for i in issues)
    assert all(i["description"].startswith("## ") for i in issues)


def test_github_pushes_carry_code(landing: Path) -> None:
    files = [
        f
        for e in records(landing, "github/events")
        if e["type"] == "PushEvent"
        for f in e["payload"]["files"]
    ]
    languages = {f["language"] for f in files if f["source"]}
    assert languages == {"python", "javascript", "go", "java"}
    assert any(f["status"] == "removed" and f["source"] is None for f in files)
    assert all(f["patch"].startswith("@@") for f in files)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _timestamps(folder: str, r: dict) -> Iterator[datetime]:
    """Every record date that must fall in the window (not a deal's expected close date,
    nor a property's historical sale)."""
    if folder == "gong/calls":
        yield from (_parse(r["started"]), _parse(r["updated_at"]))
    elif folder.startswith("hubspot/"):
        yield from (_parse(r["createdAt"]), _parse(r["updatedAt"]))
        yield from (_parse(r["properties"][k]) for k in ("createdate", "hs_lastmodifieddate"))
        if "archivedAt" in r:
            yield _parse(r["archivedAt"])
        for v in r.get("propertiesWithHistory", {}).get("dealstage", []):
            yield _parse(v["timestamp"])
    elif folder == "slack/messages":
        yield datetime.fromtimestamp(float(r["event"]["ts"]), UTC)
        yield datetime.fromtimestamp(r["event_time"], UTC)
    elif folder == "linear/issues":
        for k in ("createdAt", "updatedAt", "completedAt", "canceledAt", "archivedAt"):
            if r[k]:
                yield _parse(r[k])
    elif folder == "github/events":
        yield _parse(r["created_at"])
        p = r["payload"]
        for obj in (p.get("pull_request"), p.get("issue"), p.get("comment")):
            for k in ("created_at", "updated_at", "merged_at", "closed_at"):
                if obj and obj.get(k):
                    yield _parse(obj[k])
    elif folder == "apollo/contacts":
        yield from (_parse(r["created_at"]), _parse(r["updated_at"]))


EVENT_TIME = {
    "gong/calls": lambda r: _parse(r["started"]),
    "slack/messages": lambda r: datetime.fromtimestamp(float(r["event"]["ts"]), UTC),
    "linear/issues": lambda r: _parse(r["updatedAt"]),
    "github/events": lambda r: _parse(r["created_at"]),
    "apollo/contacts": lambda r: _parse(r["updated_at"]),
}


@pytest.mark.parametrize("folder", JSONL_FOLDERS)
def test_dates_in_window_and_files_named_by_utc_event_day(landing: Path, folder: str) -> None:
    event_time = EVENT_TIME.get(folder, lambda r: _parse(r["updatedAt"]))
    n = 0
    for path, r in iter_jsonl(landing, folder):
        for ts in _timestamps(folder, r):
            assert START <= ts < END, (folder, ts)
            assert ts.tzinfo is not None
        assert path.stem == event_time(r).astimezone(UTC).date().isoformat()
        n += 1
    assert n > 0


def test_gong_start_times_carry_offsets(landing: Path) -> None:
    starts = [c["started"] for c in records(landing, "gong/calls")]
    assert any(s.endswith("+00:00") or s.endswith("Z") for s in starts)
    assert any(s[-6] == "-" for s in starts)


def test_costar_batches_and_rows_in_window(landing: Path) -> None:
    files = sorted((landing / "costar" / "batches").glob("costar_*.csv"))
    assert len(files) == 3
    for f in files:
        assert START.date() <= date.fromisoformat(f.stem.removeprefix("costar_")) < END.date()
        assert b"\r" not in f.read_bytes()
    rows = list(costar_rows(landing))
    for path, row in rows:
        updated = _parse(row["updated_at"])
        assert START <= updated < END
        assert updated.date().isoformat() <= path.stem.removeprefix("costar_")
    ids = [row["property_id"] for _, row in rows]
    assert len(set(ids)) < len(ids)  # properties re-appear in later batches
    assert any(len(row["notes"].split()) > 150 for _, row in rows)
