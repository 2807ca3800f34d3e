"""Reading landing files: JSON Lines per source and day, one record per line.

A malformed line (bad JSON, a schema violation, an unparseable date) never stops the
file: it comes back as a ``Rejected`` with the reason, file and line, for the
dead-letter table.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class WebhookDelivery(Protocol):
    """One delivery as the webhook receiver landed it (``webhooks.landing.LandedEvent``
    has this shape): what a source's ``webhook_record`` maps into its landing shape."""

    @property
    def id(self) -> str: ...  # the sender's delivery or event id
    @property
    def event_type(self) -> str: ...
    @property
    def received_at(self) -> str: ...  # ISO-8601 UTC
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def payload(self) -> Any: ...


@dataclass(frozen=True)
class Accepted(Generic[M]):
    record: M
    raw: str  # the line as landed (canonical JSON)
    source_file: str
    line_no: int
    content_hash: str
    entity: str = ""
    day: date | None = None  # the landing file's day: the raw partition


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


def day_files(
    folder: Path, start: date, end: date, pattern: str = "{date}.jsonl"
) -> list[tuple[date, Path]]:
    """The landing files of ``[start, end)`` that exist, with their day, in date order."""
    out = []
    for d in days(start, end):
        path = folder / pattern.format(date=d.isoformat())
        if path.exists():
            out.append((d, path))
    return out


def canonical_json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


Parse = Callable[[dict[str, Any]], BaseModel]


def validate_record(
    obj: object, line: str, path: Path, line_no: int, parse: Parse, entity: str, day: date | None
) -> Accepted[Any] | Rejected:
    if not isinstance(obj, dict):
        return Rejected(line, str(path), line_no, "schema violation: a record must be an object")
    try:
        record = parse(obj)
    except ValidationError as exc:
        return Rejected(line, str(path), line_no, _readable(exc))
    except (ValueError, KeyError, TypeError) as exc:
        return Rejected(line, str(path), line_no, f"schema violation: {exc}")
    raw = canonical_json(obj)
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return Accepted(record, raw, str(path), line_no, digest, entity, day)


def parse_jsonl(
    path: Path,
    parse: Parse | type[BaseModel],
    entity: str = "",
    day: date | None = None,
) -> tuple[list[Accepted[Any]], list[Rejected]]:
    """Every line of a JSON Lines file, validated by ``parse`` (a model or a function)."""
    # A model class is never a Parse itself (its constructor takes keywords), hence the cast.
    fn: Parse = (
        parse.model_validate
        if isinstance(parse, type) and issubclass(parse, BaseModel)
        else cast(Parse, parse)
    )
    accepted: list[Accepted[Any]] = []
    rejected: list[Rejected] = []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                error = f"invalid JSON: {exc.msg} at column {exc.colno}"
                rejected.append(Rejected(line, str(path), line_no, error))
                continue
            result = validate_record(obj, line, path, line_no, fn, entity, day)
            if isinstance(result, Accepted):
                accepted.append(result)
            else:
                rejected.append(result)
    return accepted, rejected


def parse_csv(
    path: Path,
    parse: Parse,
    columns: list[str],
    entity: str = "",
    day: date | None = None,
) -> tuple[list[Accepted[Any]], list[Rejected]]:
    """Every data row of a CSV batch file (header checked); a row that fails validation
    is rejected alone and the rest of the file loads. ``line_no`` counts data rows from 1."""
    accepted: list[Accepted[Any]] = []
    rejected: list[Rejected] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != columns:
            error = f"unexpected columns {reader.fieldnames}, expected {columns}"
            return [], [Rejected(",".join(reader.fieldnames or []), str(path), 0, error)]
        for row_no, row in enumerate(reader, start=1):
            line = canonical_json(row)
            if None in row or any(v is None for v in row.values()):
                rejected.append(Rejected(line, str(path), row_no, "wrong number of fields"))
                continue
            result = validate_record(row, line, path, row_no, parse, entity, day)
            if isinstance(result, Accepted):
                accepted.append(result)
            else:
                rejected.append(result)
    return accepted, rejected


def _readable(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "(record)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - 5
    return "schema violation: " + "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
