"""Apollo.io polling with delta loading: an ``updated_at`` cursor plus an overlap window.

Each poll asks for records updated at or after ``cursor - overlap``. The overlap catches
records whose ``updated_at`` is older than the cursor but which were not visible at the
last poll (late commits, replica lag, clock skew). What makes the overlap free of
duplicates is the cursor itself: :class:`DeltaCursor` carries the ``(id, updated_at)``
keys already loaded inside the window, and :func:`select_new` (pure) drops them. A new
*version* of a record (same id, newer ``updated_at``) is a new key, so it is loaded.

The new cursor is the largest ``updated_at`` actually received, never ``now()``: a
record updated while we page is either received in this run or newer than everything
we received, hence inside the next poll's range.

How we page: ``POST /api/v1/<entity>/search`` sorted by ``updated_at`` *descending*,
stopping at the first record older than the window. Apollo's search pages by page
number; with the newest first, a record updated mid-run jumps to page 1 (already read)
and the rest slide *down* one place, which can only repeat a record at a page boundary
(de-duplicated), never skip one. Sorting ascending would slide records *up* past us.

Limits: separate budgets for enrichment and for other endpoints (e.g. 200/min on a
basic plan; ``/api/v1/usage_stats/api_usage_stats`` reports the plan's). Search is
capped at 500 pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sophia_pipeline.reliability import HttpClientConfig, RateLimit, ResilientHttpClient
from sophia_pipeline.reliability.breaker import RedisLike

from .base import ApiClient

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.apollo.io"
DEFAULT_RATE_LIMIT = RateLimit(requests=200, period_s=60.0)
MAX_PAGES = 500  # Apollo's search display limit

RecordKey = tuple[str, str]

SORT_FIELD: dict[str, str] = {"contacts": "contact_updated_at", "accounts": "account_updated_at"}


# -- pure delta logic ----------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An ``updated_at`` value as an aware UTC datetime (naive input is taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def parse_time_or_none(value: Any) -> datetime | None:
    """``parse_time``, with an unparseable stamp read as no stamp: one bad record must
    not fail a whole poll."""
    try:
        return parse_time(value)
    except (ValueError, TypeError):
        return None


def canonical_time(value: datetime) -> str:
    """One spelling per instant, so ``...Z`` and ``...+00:00`` make the same key."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def record_key(
    record: dict[str, Any], *, id_field: str = "id", updated_field: str = "updated_at"
) -> RecordKey | None:
    """``(id, canonical updated_at)``, or ``None`` when either is missing."""
    rid = record.get(id_field)
    stamp = parse_time_or_none(record.get(updated_field))
    if rid is None or stamp is None:
        return None
    return str(rid), canonical_time(stamp)


def select_new(
    records: Iterable[dict[str, Any]],
    *,
    since: datetime,
    seen: Container[RecordKey],
    id_field: str = "id",
    updated_field: str = "updated_at",
) -> list[dict[str, Any]]:
    """The records to load: updated at or after ``since``, not in ``seen``, each key once.

    Order is kept (first occurrence wins). Records without an id or a usable
    ``updated_at`` are not selected: they cannot be placed against a cursor
    (``fetch_since`` hands them on separately for the dead-letter table).
    """
    since_utc = parse_time(since)
    assert since_utc is not None
    chosen: list[dict[str, Any]] = []
    taken: set[RecordKey] = set()
    for record in records:
        key = record_key(record, id_field=id_field, updated_field=updated_field)
        if key is None or key in taken or key in seen:
            continue
        stamp = parse_time(record.get(updated_field))
        assert stamp is not None
        if stamp < since_utc:
            continue
        taken.add(key)
        chosen.append(record)
    return chosen


@dataclass(frozen=True)
class DeltaCursor:
    """Where the last poll got to: the largest ``updated_at`` loaded, and the keys
    loaded within the overlap window below it. Serialise it as a sensor cursor."""

    updated_at: datetime
    seen: frozenset[RecordKey] = field(default_factory=frozenset)

    def to_json(self) -> str:
        return json.dumps(
            {"updated_at": canonical_time(self.updated_at), "seen": sorted(self.seen)}
        )

    @classmethod
    def from_json(cls, text: str) -> DeltaCursor:
        raw = json.loads(text)
        stamp = parse_time(raw["updated_at"])
        assert stamp is not None
        return cls(stamp, frozenset((str(i), str(t)) for i, t in raw.get("seen", [])))

    @classmethod
    def coerce(cls, value: DeltaCursor | datetime) -> DeltaCursor:
        if isinstance(value, DeltaCursor):
            return value
        stamp = parse_time(value)
        assert stamp is not None
        return cls(stamp)


def advance_cursor(
    cursor: DeltaCursor,
    loaded: Iterable[dict[str, Any]],
    overlap: timedelta,
    *,
    id_field: str = "id",
    updated_field: str = "updated_at",
) -> DeltaCursor:
    """The cursor after loading ``loaded``: max ``updated_at`` seen, and every key (old
    or new) still inside the next poll's overlap window."""
    keys = {
        k
        for k in (record_key(r, id_field=id_field, updated_field=updated_field) for r in loaded)
        if k is not None
    }
    newest = max((s for _, t in keys if (s := parse_time(t)) is not None), default=None)
    top = cursor.updated_at if newest is None or newest < cursor.updated_at else newest
    floor = canonical_time(top - overlap)
    kept = frozenset(k for k in (cursor.seen | keys) if k[1] >= floor)
    return DeltaCursor(top, kept)


# -- the client ------------------------------------------------------------------------


class ApolloClient(ApiClient):
    """Polls one Apollo entity (``contacts`` or ``accounts``) for changes."""

    NAME = "apollo"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        redis: RedisLike | None = None,
        config: HttpClientConfig | None = None,
        entity: str = "contacts",
        page_size: int = 100,
        max_pages: int = MAX_PAGES,
    ) -> None:
        if entity not in SORT_FIELD:
            raise ValueError(f"entity must be one of {sorted(SORT_FIELD)}")
        self.entity = entity
        self.page_size = page_size
        self.max_pages = max_pages
        self.http = ResilientHttpClient.build(
            self.NAME,
            base_url,
            redis=redis,
            config=config,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            secret_headers={"X-Api-Key": token},
            headers={"Cache-Control": "no-cache"},
        )

    def iter_newest_first(self, stop_before: datetime) -> Iterator[dict[str, Any]]:
        """Records newest first, until the first one updated before ``stop_before``."""
        path = f"/api/v1/{self.entity}/search"
        for page in range(1, self.max_pages + 1):
            body = {
                "sort_by_field": SORT_FIELD[self.entity],
                "sort_ascending": False,
                "page": page,
                "per_page": self.page_size,
            }
            data = self.http.post(path, json=body).data or {}
            records: list[dict[str, Any]] = data.get(self.entity) or []
            for record in records:
                stamp = parse_time_or_none(record.get("updated_at"))
                if stamp is not None and stamp < stop_before:
                    return
                yield record
            total_pages = (data.get("pagination") or {}).get("total_pages")
            if not records or len(records) < self.page_size:
                return
            if isinstance(total_pages, int) and page >= total_pages:
                return
        log.warning(
            "%s: stopped at Apollo's %d-page search cap; older changes are out of reach",
            self.NAME,
            self.max_pages,
        )

    def fetch_since(
        self,
        cursor: DeltaCursor | datetime,
        overlap: timedelta = timedelta(minutes=10),
    ) -> tuple[list[dict[str, Any]], DeltaCursor]:
        """Records changed since ``cursor`` (minus ``overlap``), each version once, and
        the cursor for the next poll. Pass a plain datetime for the first poll.

        ``overlap`` should exceed the source's worst visibility lag plus clock skew.
        """
        current = DeltaCursor.coerce(cursor)
        since = current.updated_at - overlap
        fetched = list(self.iter_newest_first(since))
        records = select_new(fetched, since=since, seen=current.seen)
        records.sort(key=lambda r: (record_key(r) or ("", ""))[::-1])
        # Records with no usable id or stamp cannot be placed against the cursor; they
        # are handed on (after the rest) so the caller dead-letters them, never dropped.
        unplaceable = [r for r in fetched if record_key(r) is None]
        return records + unplaceable, advance_cursor(current, records, overlap)
