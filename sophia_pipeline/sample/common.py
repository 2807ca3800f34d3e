"""Helpers shared by the per-source sample writers: seeded randomness, the date window,
timestamp formats and the one-file-per-day JSON Lines writer."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from faker import Faker

WINDOW_DAYS = 90


@dataclass(frozen=True)
class Window:
    """The half-open span ``[start, end)`` every sample record's dates fall in: the 90
    days before the reference date, in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def before(cls, reference_date: date, days: int = WINDOW_DAYS) -> Window:
        end = datetime(reference_date.year, reference_date.month, reference_date.day, tzinfo=UTC)
        return cls(start=end - timedelta(days=days), end=end)

    def contains(self, dt: datetime) -> bool:
        return self.start <= dt < self.end

    def clamp(self, dt: datetime, margin: timedelta = timedelta(minutes=5)) -> datetime:
        return min(max(dt, self.start), self.end - margin)


def sub_seed(seed: int, name: str) -> int:
    """A seed per source, so that a change in one source's generator never shifts the
    random stream of another (hash() is salted per process; sha256 is not)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def make_rng(seed: int, name: str) -> random.Random:
    return random.Random(sub_seed(seed, name))


def make_faker(seed: int, name: str) -> Faker:
    fake = Faker("en_US")
    fake.seed_instance(sub_seed(seed, name))
    return fake


def rand_between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    """A whole-second instant in ``[lo, hi)``; ``lo`` itself when the span is empty."""
    span = int((hi - lo).total_seconds())
    if span <= 1:
        return lo.replace(microsecond=0)
    return lo.replace(microsecond=0) + timedelta(seconds=rng.randrange(span))


def iso_z(dt: datetime) -> str:
    """``2024-05-01T13:45:12Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(dt: datetime) -> str:
    """``2024-05-01T13:45:12.345Z``, the millisecond form HubSpot and Linear return."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def hex_id(rng: random.Random, chars: int = 24) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def slack_id(rng: random.Random, prefix: str, length: int = 10) -> str:
    return prefix + "".join(rng.choice(_ALNUM) for _ in range(length - 1))


def reset_dirs(landing_dir: Path, relative: Iterable[str]) -> None:
    """Removes the folders the generator owns, and only those, so a re-run leaves no
    file from an earlier run with other settings behind."""
    for rel in relative:
        target = landing_dir / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def dump(record: object) -> str:
    return json.dumps(record, sort_keys=True)


def write_jsonl_by_day(folder: Path, records: Iterable[tuple[datetime, str, dict]]) -> int:
    """Writes ``(event time, tie-break key, record)`` triples into ``<folder>/<UTC date>.jsonl``,
    each file ordered by event time then key. Returns the number of lines written."""
    by_day: dict[str, list[tuple[datetime, str, dict]]] = {}
    for item in records:
        day = item[0].astimezone(UTC).date().isoformat()
        by_day.setdefault(day, []).append(item)
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for day in sorted(by_day):
        rows = sorted(by_day[day], key=lambda r: (r[0], r[1]))
        with (folder / f"{day}.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
            for _, _, record in rows:
                fh.write(dump(record) + "\n")
                n += 1
    return n


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(dump(record) + "\n")
            n += 1
    return n
