"""Determinism, ownership of the landing folders, counts and speed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sophia_pipeline.sample import OWNED, generate

from .landing import REFERENCE_DATE, SEED, make_landing

SCALE_1 = {
    "gong/calls": 60,
    "hubspot/companies": 40,
    "hubspot/contacts": 120,
    "hubspot/deals": 60,
    "slack/messages": 300,
    "linear/issues": 80,
    "costar/batches": 150,
    "apollo/contacts": 100,
    "_labels/gong_calls.jsonl": 60,
}


def digest(landing: Path) -> dict[str, str]:
    return {
        str(p.relative_to(landing)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }


def test_same_seed_and_date_give_byte_identical_files(tmp_path: Path) -> None:
    a = digest(make_landing(tmp_path / "a"))
    b = digest(make_landing(tmp_path / "b"))
    assert len(a) > 100
    assert a == b


def test_identical_across_processes_with_other_hash_seeds(tmp_path: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; the output must not."""
    digests = []
    for hash_seed in ("1", "2"):
        landing = tmp_path / hash_seed
        subprocess.run(
            [sys.executable, "-m", "sophia_pipeline.sample", str(landing),
             "--seed", str(SEED), "--date", REFERENCE_DATE.isoformat()],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )  # fmt: skip
        digests.append(digest(landing))
    assert digests[0] == digests[1]
    assert digests[0] == digest(make_landing(tmp_path / "here"))


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    a = digest(make_landing(tmp_path / "a"))
    b = digest(make_landing(tmp_path / "b", seed=SEED + 1))
    shared = set(a) & set(b)
    assert a != b
    assert all(a[k] != b[k] for k in shared if not k.startswith("costar"))


def test_rerun_replaces_owned_folders_and_keeps_the_rest(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(landing, scale=2, seed=99, reference_date=REFERENCE_DATE - timedelta(days=40))
    keep = landing / "gong" / "checkpoints" / "keep.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("mine")
    generate(landing, seed=SEED, reference_date=REFERENCE_DATE)
    fresh = digest(make_landing(tmp_path / "fresh"))
    after = digest(landing)
    assert after.pop("gong/checkpoints/keep.txt")
    assert after == fresh


def test_counts_at_scale_1(landing: Path) -> None:
    counts = generate(landing.parent / "again", reference_date=REFERENCE_DATE)
    assert list(counts) == OWNED
    for key, expected in SCALE_1.items():
        assert counts[key] == expected, key
    # A few GitHub events are delivered twice on purpose.
    assert 150 < counts["github/events"] <= 160
    assert 40 <= counts["_labels/slack_threads.jsonl"] <= 150


def test_scale_multiplies_counts(tmp_path: Path) -> None:
    counts = generate(tmp_path / "landing", scale=2, reference_date=REFERENCE_DATE)
    for key, expected in SCALE_1.items():
        assert counts[key] == 2 * expected, key


def test_scale_1_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    generate(tmp_path / "landing", reference_date=REFERENCE_DATE)
    assert time.perf_counter() - started < 5


def test_reference_date_defaults_to_today_utc(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    today = datetime.now(UTC).date()
    generate(landing)
    days = sorted(p.stem for p in (landing / "gong" / "calls").glob("*.jsonl"))
    assert days[0] >= (today - timedelta(days=90)).isoformat()
    assert days[-1] < today.isoformat()


def test_rejects_scale_below_1(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, scale=0)
