"""Reading landing files: JSON Lines per source and day, one record per line.

A malformed line (bad JSON, a schema violation, an unparseable date) never stops the
file: it comes back as a ``Rejected`` with the reason, file and line, for the
dead-letter table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Accepted(Generic[M]):
    record: M
    raw: str  # the line as landed (canonical JSON)
    source_file: str
    line_no: int
    content_hash: str


@dataclass(frozen=True)
class Rejected:
    raw: str
    source_file: str
    line_no: int
    error: str

    @property
    def dead_letter_id(self) -> str:
        key = f"{self.source_file}\x00{self.line_no}\x00{self.raw}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


def days(start: date, end: date) -> Iterable[date]:
    d = start
    while d < end:
        yield d
        d += timedelta(days=1)


def day_files(folder: Path, start: date, end: date) -> list[Path]:
    """The landing files of ``[start, end)`` that exist, in date order."""
    return [p for d in days(start, end) if (p := folder / f"{d.isoformat()}.jsonl").exists()]


def canonical_json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_jsonl(path: Path, model: type[M]) -> tuple[list[Accepted[M]], list[Rejected]]:
    accepted: list[Accepted[M]] = []
    rejected: list[Rejected] = []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                rejected.append(
                    Rejected(
                        line, str(path), line_no, f"invalid JSON: {exc.msg} at column {exc.colno}"
                    )
                )
                continue
            try:
                record = model.model_validate(obj)
            except ValidationError as exc:
                rejected.append(Rejected(line, str(path), line_no, _readable(exc)))
                continue
            raw = canonical_json(obj)
            digest = hashlib.sha256(raw.encode()).hexdigest()
            accepted.append(Accepted(record, raw, str(path), line_no, digest))
    return accepted, rejected


def _readable(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "(record)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - 5
    return "schema violation: " + "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
