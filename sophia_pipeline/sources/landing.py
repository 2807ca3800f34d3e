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

    def __post_init__(self) -> None:
        # Bad input is what lands here: text UTF-8 cannot hold (an unpaired surrogate
        # from a JSON escape) would break the dead-letter id and the warehouse insert,
        # so it is kept as its escape (``\ud83d``), which in JSON text is the same value.
        object.__setattr__(self, "raw", _storable(self.raw))
        object.__setattr__(self, "error", _storable(self.error))

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


def dated_files(folder: Path, pattern: str = "{date}.jsonl") -> list[tuple[date, Path]]:
    """Every file in ``folder`` named by ``pattern`` for some ISO day, with the day, in
    date order (``day_files`` for all days)."""
    prefix, suffix = pattern.split("{date}")
    out = []
    for path in folder.glob(pattern.format(date="*")):
        try:
            day = date.fromisoformat(path.name[len(prefix) : len(path.name) - len(suffix)])
        except ValueError:
            continue
        # fromisoformat also reads "20261124": only the name the writer uses counts.
        if path.name == pattern.format(date=day.isoformat()) and path.is_file():
            out.append((day, path))
    return sorted(out)


def canonical_json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(raw: str) -> str:
    """The sha256 of a record's canonical JSON. ``ValueError`` when the record holds
    text UTF-8 cannot encode: an unpaired surrogate, valid as a JSON escape, which is
    what a client sends when it cuts an emoji at a UTF-16 boundary."""
    try:
        data = raw.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"invalid text: unpaired surrogate {ascii(raw[exc.start])} in a string "
            "(text cut inside a UTF-16 pair)"
        ) from None
    return hashlib.sha256(data).hexdigest()


def load_json(line: str) -> tuple[Any, str | None]:
    """A line's JSON value, or ``(None, reason)`` when it is not JSON this parser can
    read (nesting deeper than the interpreter's recursion limit included)."""
    try:
        return json.loads(line), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"


def invalid_utf8(text: str) -> tuple[str, str] | None:
    """For text read with ``errors="surrogateescape"``: ``None`` when its bytes were
    valid UTF-8, else (the bytes shown with ``\\xNN`` escapes, the reason). Bytes are never
    replaced: two ids that differ only by an invalid byte must not become one."""
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    data = text.encode("utf-8", "surrogateescape")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"invalid UTF-8: {exc.reason} at byte {exc.start + 1}"
    else:
        reason = "invalid UTF-8"  # bytes that only decode once rejoined
    return data.decode("utf-8", "backslashreplace"), reason


def _storable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
    except RecursionError:
        return Rejected(line, str(path), line_no, "schema violation: nested too deeply")
    raw = canonical_json(obj)
    try:
        digest = content_hash(raw)
    except ValueError as exc:
        return Rejected(line, str(path), line_no, str(exc))
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
    # surrogateescape: an invalid byte survives decoding so the line can be rejected.
    with path.open("r", encoding="utf-8", errors="surrogateescape") as fh:
        for line_no, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            if (bad := invalid_utf8(line)) is not None:
                rejected.append(Rejected(bad[0], str(path), line_no, bad[1]))
                continue
            obj, error = load_json(line)
            if error is not None:
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
    # surrogateescape: an invalid byte survives decoding so the row can be rejected.
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != columns:
            error = f"unexpected columns {reader.fieldnames}, expected {columns}"
            return [], [Rejected(",".join(reader.fieldnames or []), str(path), 0, error)]
        for row_no, row in enumerate(reader, start=1):
            # Fields past the header's sit under the key None (DictReader's restkey),
            # which canonical JSON cannot sort: kept under "" for the dead letter.
            extra = row.pop(None, None)  # type: ignore[call-overload]
            line = canonical_json({**row, "": extra} if extra is not None else row)
            if extra is not None or any(v is None for v in row.values()):
                got = sum(v is not None for v in row.values()) + len(extra or [])
                error = f"wrong number of fields: {got}, expected {len(columns)}"
                rejected.append(Rejected(line, str(path), row_no, error))
                continue
            if (bad := invalid_utf8(line)) is not None:
                column, reason = next(
                    (k, r[1]) for k, v in row.items() if (r := invalid_utf8(v)) is not None
                )
                error = f"{reason} in column {column}"
                rejected.append(Rejected(bad[0], str(path), row_no, error))
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
