"""Production ``SourceReader``s: Airbyte-synced tables, the source APIs, CoStar batches.

Each implements ``read(spec, start, end, state, log)`` like the landing-file reader and
is registered under the same ``<source>_source`` key in the prod profile, so the raw
assets never change between profiles. A reader fetches and writes nothing: it returns a
``Fetched`` (records, rejects and the new cursor values) and the raw asset commits them
in one transaction.

Two kinds:

- **Window readers** (Airbyte tables; the direct Gong, HubSpot and Linear APIs when
  Airbyte is not configured) return what belongs to ``[start, end)`` and hold no state:
  the raw asset appends the records, de-duplicated by record id + content hash, so a
  re-run adds nothing.
- **Cursor readers** (Apollo's ``updated_at`` cursor, GitHub's ETags) fetch from the
  cursors the raw asset read for them (``FetchState``) and return the new values, which
  the raw asset commits in the transaction that stores the records: a crash before it
  leaves neither, and the re-run fetches the same records again.

CoStar's batch reader is the one exception: it commits rows, dead letters and its file
checkpoint batch by batch while it reads (a killed load resumes mid-file), and returns
only the counts of what it committed.

Every record is stored in the shape its landing file has (the shape ``spec.parse``
validates); :func:`to_landing` maps API and Airbyte shapes onto it and is idempotent,
so the dead-letter replay can apply it again to a stored original payload.

Partition day: a record's own day (call start, ``updatedAt``, ``created_at``), except
that one arriving late (its day before the window that found it) lands in the window's
first day. The hourly run only ever materializes today's partition; a record placed in
yesterday's, already-built partition would wait for a manual re-run to reach documents.

Secrets (API tokens) come in as ``EnvVar`` fields, travel only in the clients' headers
and are scrubbed from their log lines; nothing here formats them anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from pydantic import Field

from sophia_pipeline.resources.api_clients import (
    ApolloClient,
    DeltaCursor,
    GitHubEventsClient,
    GongClient,
    HubSpotClient,
    LinearClient,
)
from sophia_pipeline.resources.api_clients.apollo import parse_time, parse_time_or_none
from sophia_pipeline.resources.costar_checkpoint import (
    DEFAULT_BATCH_SIZE,
    load_batch_file,
)
from sophia_pipeline.resources.source_readers import Fetched, FetchState, Loaded, SourceReader
from sophia_pipeline.sources.landing import (
    Accepted,
    Rejected,
    canonical_json,
    day_files,
    validate_record,
)
from sophia_pipeline.sources.registry import SPECS, SourceSpec
from sophia_pipeline.store.external import airbyte_records
from sophia_pipeline.store.warehouse import Warehouse, checked_table

log = logging.getLogger(__name__)

# --- API and Airbyte shapes -> landing shapes (the mappers live in sources/<source>.py) -----


def to_landing(source: str, obj: Any) -> Any:
    """``obj`` in the landing shape of ``source`` (unchanged if it already is one), by
    the source's ``SourceSpec.to_landing`` mapper."""
    spec = SPECS.get(source)
    if not isinstance(obj, dict) or spec is None or spec.to_landing is None:
        return obj
    return spec.to_landing(obj)


# --- records into Accepted / Rejected -----------------------------------------------------


def record_day(source: str, obj: Any) -> date | None:
    """The UTC day a landing-shaped record belongs to, or ``None`` if it has none."""
    if not isinstance(obj, dict):
        return None
    try:
        spec = SPECS.get(source)
        stamp = parse_time(obj.get((spec.day_field if spec else None) or ""))
    except (TypeError, ValueError):
        return None
    return stamp.date() if stamp else None


def landing_day(day: date | None, start: date) -> date:
    """The partition a record found by a window starting at ``start`` goes to: its own
    day, or the window's first day for a late arrival (a day before the window), so it
    lands where it was found instead of in a partition that was already built. A record
    newer than the window (a cursor-driven poll run for an old partition) keeps its own
    day: it is never pushed back into the past."""
    if day is None or day < start:
        return start
    return day


def check_record(
    spec: SourceSpec,
    entity: str,
    original: Any,
    source_file: str,
    start: date,
) -> Accepted[Any] | Rejected:
    """One API or Airbyte record validated like a landing line. A rejected one keeps
    its *original* payload (the replay maps it again); line 0 makes its dead-letter id
    depend on its content only, so polling it again does not add a second letter."""
    try:
        obj = to_landing(spec.name, original)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Rejected(
            canonical_json(original),
            source_file,
            0,
            f"schema violation: cannot map the {spec.name} record: {exc!r}"[:500],
        )
    day = landing_day(record_day(spec.name, obj), start)
    line = canonical_json(obj)
    result = validate_record(
        obj, line, Path(source_file), 0, lambda o: spec.parse(entity, o), entity, day
    )
    if isinstance(result, Rejected):
        return Rejected(canonical_json(original), source_file, 0, result.error)
    return result


def split(
    results: Iterable[Accepted[Any] | Rejected],
) -> tuple[list[Accepted[Any]], list[Rejected]]:
    accepted: list[Accepted[Any]] = []
    rejected: list[Rejected] = []
    for r in results:
        if isinstance(r, Accepted):
            accepted.append(r)
        else:
            rejected.append(r)
    return accepted, rejected


def in_version_order(spec: SourceSpec, accepted: list[Accepted[Any]]) -> list[Accepted[Any]]:
    """``accepted`` numbered (``line_no`` 1..n) oldest version first, by the record's own
    time (``spec.day_field``), fetch order breaking ties.

    One fetch may return two versions of a record (one edited between two pages): both
    are stored, in one transaction, so they share a partition and ``loaded_at``, and the
    newest-version query then falls back to ``line_no``. With every API record on line 0
    it picked one at random and a document could show the older version."""

    def stamp(a: Accepted[Any]) -> datetime:
        try:
            obj = json.loads(a.raw)
            value = parse_time(obj.get(spec.day_field or "")) if isinstance(obj, dict) else None
        except (TypeError, ValueError, RecursionError):
            value = None
        return value or datetime.min.replace(tzinfo=UTC)

    ordered = sorted(enumerate(accepted), key=lambda pair: (stamp(pair[1]), pair[0]))
    return [dataclasses.replace(a, line_no=n) for n, (_, a) in enumerate(ordered, start=1)]


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _window_datetimes(start: date, end: date) -> tuple[datetime, datetime]:
    return midnight(start), midnight(end)


def _logger(given: Any) -> Any:
    return given if given is not None else log


# --- Airbyte-synced tables ----------------------------------------------------------------

# Airbyte stream per landing entity: Gong's source calls its full call records
# "extensiveCalls"; HubSpot's and Linear's streams are named after the objects.
AIRBYTE_STREAMS: dict[str, dict[str, str]] = {
    "gong": {"call": "extensiveCalls"},
    "hubspot": {"company": "companies", "contact": "contacts", "deal": "deals"},
    "linear": {"issue": "issues"},
}


class AirbyteTableReader(SourceReader):
    """Records an Airbyte connection synced into the warehouse, read from the
    destination's raw tables (Destinations V2: ``<raw_schema>.<namespace>_raw__stream_
    <stream>``, one JSON ``_airbyte_data`` per extracted record, every version kept).

    The raw tables, not the typed final ones: they carry the source record exactly as
    the connector emitted it, whatever the destination's typing and de-duplication
    settings. A record belongs to the window in which Airbyte *extracted* it (our
    landing time); its partition day follows :func:`landing_day`.
    """

    warehouse: Warehouse
    raw_schema: str = "airbyte_internal"
    namespace: str = Field(description="the connection's destination namespace")
    streams: dict[str, str] = Field(
        default_factory=dict, description="entity -> stream (default: AIRBYTE_STREAMS)"
    )

    def table_for(self, source: str, entity: str) -> str:
        stream = (self.streams or AIRBYTE_STREAMS.get(source, {}))[entity]
        return checked_table(f"{self.raw_schema}.{self.namespace}_raw__stream_{stream}")

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        lo, hi = _window_datetimes(start, end)
        results: list[Accepted[Any] | Rejected] = []
        tables = 0
        for entity, folder in spec.folders.items():
            table = self.table_for(spec.name, entity)
            # A day either side in SQL, exact bounds in Python: the column is a
            # TIMESTAMP_TZ and a bound parameter is compared in the session's time zone,
            # which differs between Snowflake accounts.
            df = airbyte_records(
                self.warehouse,
                table,
                lo.replace(tzinfo=None) - timedelta(days=1),
                hi.replace(tzinfo=None) + timedelta(days=1),
            )
            tables += 1
            source_file = f"airbyte:{spec.name}/{folder}"
            for data in _in_window(df, lo, hi):
                results.append(check_record(spec, entity, data, source_file, start))
        accepted, rejected = split(results)
        _logger(log).info(
            f"{spec.name}: {len(accepted)} records, {len(rejected)} rejected from "
            f"{tables} Airbyte raw tables ({start}..{end})"
        )
        return Fetched(in_version_order(spec, accepted), rejected, tables)


def _in_window(df: pd.DataFrame, lo: datetime, hi: datetime) -> list[Any]:
    if df.empty:
        return []
    # Airbyte stamps extraction in UTC; a naive value read back is UTC too.
    stamps = pd.to_datetime(df["extracted_at"], utc=True)
    out = []
    for stamp, data in zip(stamps, df["data"], strict=True):
        if lo <= stamp.to_pydatetime() < hi:
            out.append(json.loads(data) if isinstance(data, (str, bytes)) else data)
    return out


# --- the source APIs, when Airbyte is not configured ---------------------------------------


class _ApiReader(SourceReader):
    base_url: str | None = Field(default=None, description="None: the vendor's API")
    redis_url: str | None = Field(
        default=None, description="shared circuit breaker and rate limiter state"
    )
    overlap_minutes: int = Field(
        default=60, description="read this far before the window: late-visible changes"
    )

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"redis": self.redis_url or None}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        return kwargs

    def _since(self, start: date) -> datetime:
        return midnight(start) - timedelta(minutes=self.overlap_minutes)


class GongApiReader(_ApiReader):
    """Calls started in the window (plus the overlap), with transcripts, from Gong."""

    access_key: str
    access_key_secret: str

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        _, hi = _window_datetimes(start, end)
        source_file = f"api:{spec.name}/{spec.folders['call']}"
        with GongClient.from_access_key(
            self.access_key, self.access_key_secret, **self._client_kwargs()
        ) as client:
            results = [
                check_record(spec, "call", call, source_file, start)
                for call in client.iter_calls(self._since(start), hi)
            ]
        accepted, rejected = split(results)
        _logger(log).info(f"gong API: {len(accepted)} calls, {len(rejected)} rejected")
        return Fetched(in_version_order(spec, accepted), rejected, 1)


class HubSpotApiReader(_ApiReader):
    """Companies, contacts and deals modified in the window (plus the overlap)."""

    access_token: str

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        _, hi = _window_datetimes(start, end)
        results: list[Accepted[Any] | Rejected] = []
        with HubSpotClient(self.access_token, **self._client_kwargs()) as client:
            for entity, folder in spec.folders.items():
                source_file = f"api:{spec.name}/{folder}"
                for record in client.search_modified(folder, self._since(start), hi):  # type: ignore[arg-type]
                    results.append(check_record(spec, entity, record, source_file, start))
        accepted, rejected = split(results)
        _logger(log).info(f"hubspot API: {len(accepted)} objects, {len(rejected)} rejected")
        return Fetched(in_version_order(spec, accepted), rejected, len(spec.folders))


class LinearApiReader(_ApiReader):
    """Issues updated in the window (plus the overlap), archived ones included."""

    api_key: str

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        _, hi = _window_datetimes(start, end)
        source_file = f"api:{spec.name}/{spec.folders['issue']}"
        results: list[Accepted[Any] | Rejected] = []
        with LinearClient(self.api_key, **self._client_kwargs()) as client:
            for issue in client.iter_issues_updated_after(self._since(start)):
                # An unparseable stamp is no stamp: the record is checked (and dead-
                # lettered) like any other instead of failing the whole source.
                stamp = parse_time_or_none(issue.get("updatedAt"))
                if stamp is not None and stamp >= hi:
                    continue  # a later window's change: that run will read it
                results.append(check_record(spec, "issue", issue, source_file, start))
        accepted, rejected = split(results)
        _logger(log).info(f"linear API: {len(accepted)} issues, {len(rejected)} rejected")
        return Fetched(in_version_order(spec, accepted), rejected, 1)


# --- cursor readers: new cursor values returned with the records ----------------------------


class ApolloApiReader(_ApiReader):
    """Apollo people changed since the stored ``updated_at`` cursor (minus an overlap),
    each version once (the cursor carries the keys already loaded in the overlap).

    The first poll starts at ``initial_cursor`` (ISO-8601), or the window's start. The
    advanced cursor is returned under ``CURSOR_NAME`` for the raw asset to commit with
    the records.
    """

    api_key: str
    overlap_minutes: int = 10
    initial_cursor: str | None = None
    page_size: int = 100

    CURSOR_NAME: ClassVar[str] = "contacts"

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        stored = state.cursors.get(self.CURSOR_NAME)
        cursor = (
            DeltaCursor.from_json(stored)
            if stored
            else DeltaCursor.coerce(parse_time(self.initial_cursor) or midnight(start))
        )
        with ApolloClient(
            self.api_key, page_size=self.page_size, **self._client_kwargs()
        ) as client:
            records, advanced = client.fetch_since(cursor, timedelta(minutes=self.overlap_minutes))
        folder = spec.folders["contact"]
        source_file = f"api:{spec.name}/{folder}"
        accepted, rejected = split(
            check_record(spec, "contact", r, source_file, start) for r in records
        )
        _logger(log).info(
            f"apollo: {len(records)} changed since {cursor.updated_at.isoformat()}: "
            f"{len(accepted)} accepted, {len(rejected)} rejected; "
            f"cursor to {advanced.updated_at.isoformat()}"
        )
        return Fetched(
            in_version_order(spec, accepted),
            rejected,
            1,
            cursors={self.CURSOR_NAME: advanced.to_json()},
        )


class GitHubApiReader(_ApiReader):
    """New events of each repository since its stored ETag (one cursor per repository,
    named ``owner/repo``), de-duplicated by event id against the events already in the
    raw table (webhooks deliver the same events): the raw asset passes those ids in."""

    token: str
    repos: list[str] = Field(description="owner/repo names")
    lookback_days: int = Field(
        default=91, description="the events API reaches back 90 days; older ids can't recur"
    )

    def known_ids_since(self, start: date) -> date | None:
        return start - timedelta(days=self.lookback_days)

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        logger = _logger(log)
        seen = set(state.known_ids)
        everything: list[Accepted[Any]] = []
        bad: list[Rejected] = []
        etags: dict[str, str] = {}
        polled = 0
        with GitHubEventsClient(self.token, **self._client_kwargs()) as client:
            for repo in self.repos:
                owner, _, name = repo.partition("/")
                if not owner or not name:
                    raise ValueError(f"not an owner/repo name: {repo!r}")
                stored = state.cursors.get(repo)
                etag = json.loads(stored).get("etag") if stored else None
                poll = client.poll(owner, name, etag=etag, seen=seen)
                polled += 1
                if poll.not_modified:
                    logger.info(f"github {repo}: nothing new (304)")
                    continue
                source_file = f"api:{spec.name}/events/{repo}"
                accepted, rejected = split(
                    check_record(spec, "event", e, source_file, start) for e in poll.events
                )
                # A later repository's poll skips what this one found (ids are global).
                seen.update(spec.record_id(a.entity, a.record) for a in accepted)
                everything.extend(accepted)
                bad.extend(rejected)
                etags[repo] = json.dumps({"etag": poll.etag})
                logger.info(
                    f"github {repo}: {len(poll.events)} new events, {len(rejected)} rejected"
                )
        return Fetched(everything, bad, polled, cursors=etags, by_id_only=True)


class CoStarBatchReader(SourceReader):
    """CoStar batch files of the window from ``batch_dir``, each loaded with
    checkpoints (see ``resources/costar_checkpoint.py``): a killed load resumes after its
    last committed batch, and a finished file is never read again.

    The one reader that writes while it reads: each batch's rows, dead letters and file
    checkpoint are committed together as it goes (a file may be too large to hold, and
    a crash must resume mid-file, not start over). It returns no records to commit, only
    the counts of what it committed (``Fetched.checkpointed``).
    """

    batch_dir: str
    warehouse: Warehouse
    batch_size: int = DEFAULT_BATCH_SIZE

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        logger = _logger(log)
        committed = Loaded()
        files = day_files(Path(self.batch_dir), start, end, spec.file_pattern)
        for _, path in files:
            report = load_batch_file(
                self.warehouse,
                path,
                raw_table=spec.raw_table,
                stage=spec.raw_asset,
                record_id=spec.record_id,
                batch_size=self.batch_size,
            )
            committed += Loaded(report.loaded, report.already_loaded, report.dead_letters)
            if report.was_complete:
                logger.info(f"costar {path.name}: loaded by an earlier run, skipped")
                continue
            logger.info(
                f"costar {path.name}: rows {report.resumed_from + 1}..{report.rows_total} in "
                f"{report.batches} batches: {report.loaded} new, {report.already_loaded} "
                f"already loaded, {report.dead_letters} dead letters"
                + (f" (resumed after row {report.resumed_from})" if report.resumed_from else "")
            )
        return Fetched([], [], len(files), checkpointed=committed)
