"""Reading a generated landing zone back, for the sample and source tests."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from sophia_pipeline.sample import generate

REFERENCE_DATE = date(2024, 6, 1)
SEED = 7

JSONL_FOLDERS = [
    "gong/calls",
    "hubspot/companies",
    "hubspot/contacts",
    "hubspot/deals",
    "slack/messages",
    "linear/issues",
    "github/events",
    "apollo/contacts",
]


def make_landing(root: Path, scale: int = 1, seed: int = SEED) -> Path:
    landing = root / "landing"
    generate(landing, scale=scale, seed=seed, reference_date=REFERENCE_DATE)
    return landing


def iter_jsonl(landing: Path, folder: str) -> Iterator[tuple[Path, dict]]:
    for path in sorted((landing / folder).glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                yield path, json.loads(line)


def records(landing: Path, folder: str) -> list[dict]:
    return [r for _, r in iter_jsonl(landing, folder)]


def labels(landing: Path, name: str) -> list[dict]:
    with (landing / "_labels" / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def costar_rows(landing: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    for path in sorted((landing / "costar" / "batches").glob("costar_*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                yield path, row
