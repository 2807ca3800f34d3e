"""Every source, described once: where its landing files are, how a record is parsed
and identified, how the newest records become documents, and its raw table.

The Dagster assets, checks, landing readers and raw tables of every source are built from
these specs, so a source's documents reach chunks, vectors and the warehouse through the
same code as Gong's. Adding a source is a module beside this one and an entry in
``SPECS`` (the README's "Adding a source" lists the rest).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sophia_pipeline.documents import Document

from . import apollo, costar, github, gong, hubspot, linear, slack
from .landing import Accepted, Rejected, dated_files, day_files, parse_csv, parse_jsonl


@dataclass(frozen=True)
class RawRecord:
    """The newest stored version of a record, as the documents stage reads it."""

    entity: str
    record: Any  # the source's pydantic model
    payload: dict[str, Any]
    day: date  # the partition (landing day) of this version


Lookup = Callable[[], list[RawRecord]]  # every record's newest version, across partitions
ToDocuments = Callable[[list[RawRecord], Lookup], list[tuple[Document, date]]]


@dataclass(frozen=True)
class SourceSpec:
    name: str
    raw_asset: str  # its asset key as the UI writes it: "raw/<table>"
    raw_table: str
    folders: dict[str, str]  # entity -> folder under landing/<name>/
    parse: Callable[[str, dict[str, Any]], BaseModel]
    record_id: Callable[[str, Any], str]
    to_documents: ToDocuments
    file_pattern: str = "{date}.jsonl"
    csv_columns: list[str] = field(default_factory=list)
    description: str = ""
    # For the production readers (API, Airbyte): the landing-shape field that names a
    # record's day, and the mapping of an API or Airbyte record onto the landing shape
    # (idempotent: the dead-letter replay maps a stored original again; None: the source
    # delivers the landing shape itself).
    day_field: str | None = None
    to_landing: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Records never change once made (events): a stored id is a duplicate whatever its
    # content, e.g. when the dead-letter replay appends a record again.
    by_id_only: bool = False
    # How old the raw asset's last materialization may be before its freshness check
    # fails: the source's cadence plus slack for a slow or retried run.
    freshness: timedelta = timedelta(hours=3)

    def landed_files(self, landing_dir: Path) -> list[tuple[str, date, Path]]:
        """Every landing file of this source, any day: (entity, day, path)."""
        return [
            (entity, day, path)
            for entity, folder in sorted(self.folders.items())
            for day, path in dated_files(landing_dir / self.name / folder, self.file_pattern)
        ]

    def read_landing(
        self, landing_dir: Path, start: date, end: date
    ) -> tuple[list[Accepted[Any]], list[Rejected], int]:
        """Accepted and rejected records of the window's landing files, and the number
        of files read."""
        accepted: list[Accepted[Any]] = []
        rejected: list[Rejected] = []
        files = 0
        for entity, folder in self.folders.items():
            for day, path in day_files(
                landing_dir / self.name / folder, start, end, self.file_pattern
            ):
                files += 1
                parse = lambda obj, e=entity: self.parse(e, obj)  # noqa: E731
                if self.csv_columns:
                    ok, bad = parse_csv(path, parse, self.csv_columns, entity, day)
                else:
                    ok, bad = parse_jsonl(path, parse, entity, day)
                accepted.extend(ok)
                rejected.extend(bad)
        return accepted, rejected, files


# --- per-source document builders --------------------------------------------------------


def _one_each(normalize: Callable[[Any], Document]) -> ToDocuments:
    def build(records: list[RawRecord], lookup: Lookup) -> list[tuple[Document, date]]:
        return [(normalize(r.record), r.day) for r in records]

    return build


def _with_text(doc: Document, text: str) -> Document:
    return doc.model_copy(update={"text": text})


def _hubspot_documents(records: list[RawRecord], lookup: Lookup) -> list[tuple[Document, date]]:
    """CRM entities rendered with their relations: a deal with its company, contacts and
    stage history; a company with its contacts and deals; a contact with company and
    deals. Relations resolve against every record's newest version."""
    associations = hubspot.Associations((r.entity, r.payload) for r in lookup())
    return [
        (
            _with_text(
                hubspot.normalize(r.record), hubspot.render(r.entity, r.payload, associations)
            ),
            r.day,
        )
        for r in records
    ]


def _apollo_documents(records: list[RawRecord], lookup: Lookup) -> list[tuple[Document, date]]:
    return [
        (_with_text(apollo.normalize(r.record), apollo.render_apollo_person(r.payload)), r.day)
        for r in records
    ]


def _slack_documents(records: list[RawRecord], lookup: Lookup) -> list[tuple[Document, date]]:
    """One document per thread the window touched, built from all of that thread's
    messages (a reply landing days later rebuilds the whole thread); the thread lives in
    the partition of its newest message. A member or channel record in the window (a
    rename) touches every thread that member spoke in or that channel holds, so names
    stay current; names resolve against every member's and channel's newest version."""
    everything = lookup()
    users = [r.record for r in everything if r.entity == "user"]
    channels = [r.record for r in everything if r.entity == "channel"]
    all_messages = [r for r in everything if r.entity == "message"]
    renamed_users = {r.record.id for r in records if r.entity == "user"}
    renamed_channels = {r.record.id for r in records if r.entity == "channel"}
    touched = {r.record.event.thread_key for r in records if r.entity == "message"}
    if renamed_users or renamed_channels:
        touched |= {
            r.record.event.thread_key
            for r in all_messages
            if r.record.event.user in renamed_users or r.record.event.channel in renamed_channels
        }
    messages = [r for r in all_messages if r.record.event.thread_key in touched]
    newest: dict[str, date] = {}
    for r in messages:
        key = r.record.event.thread_key
        newest[key] = max(newest.get(key, r.day), r.day)
    docs = slack.group_threads((r.record for r in messages), users, channels)
    return [(d, newest[d.source_id]) for d in docs]


def _github_documents(records: list[RawRecord], lookup: Lookup) -> list[tuple[Document, date]]:
    """Events in time order: a file touched by several pushes keeps its latest state."""
    latest: dict[str, tuple[Document, date]] = {}
    for r in sorted(records, key=lambda r: (r.record.created_at, r.record.id)):
        for doc in github.normalize(r.record):
            latest[doc.doc_id] = (doc, r.day)
    return list(latest.values())


SPECS: dict[str, SourceSpec] = {
    s.name: s
    for s in [
        SourceSpec(
            name="gong",
            raw_asset="raw/gong_calls",
            raw_table="raw.gong_calls",
            folders={gong.ENTITY: "calls"},
            parse=lambda e, o: gong.GongCall.model_validate(o),
            record_id=lambda e, r: r.call_id,
            to_documents=_one_each(gong.normalize),
            description="Gong call records (daily partitions by call date)",
            day_field="started",
            to_landing=gong.gong_call_from_api,
        ),
        SourceSpec(
            name="hubspot",
            raw_asset="raw/hubspot_objects",
            raw_table="raw.hubspot_objects",
            folders=dict(hubspot.FOLDERS),
            parse=hubspot.parse,
            record_id=lambda e, r: f"{e}:{r.id}",
            to_documents=_hubspot_documents,
            description="HubSpot companies, contacts and deals (by last-modified day)",
            day_field="updatedAt",
            to_landing=hubspot.hubspot_object_from_airbyte,
        ),
        SourceSpec(
            name="slack",
            raw_asset="raw/slack_messages",
            raw_table="raw.slack_messages",
            # "message" first: webhook deliveries are messages (webhooks/batches.py).
            folders={"message": "messages", "user": "users", "channel": "channels"},
            parse=slack.parse_entity,
            record_id=slack.record_id,
            to_documents=_slack_documents,
            description=(
                "Slack Events API message envelopes (by message day), workspace members "
                "(users.list) and channels (conversations.list)"
            ),
        ),
        SourceSpec(
            name="linear",
            raw_asset="raw/linear_issues",
            raw_table="raw.linear_issues",
            folders={linear.ENTITY: "issues"},
            parse=lambda e, o: linear.parse(o),
            record_id=lambda e, r: r.id,
            to_documents=_one_each(linear.normalize),
            description="Linear issues (by updatedAt day)",
            day_field="updatedAt",
            to_landing=linear.linear_issue_from_api,
        ),
        SourceSpec(
            name="github",
            raw_asset="raw/github_events",
            raw_table="raw.github_events",
            folders={github.ENTITY: "events"},
            parse=lambda e, o: github.parse(o),
            record_id=lambda e, r: str(r.id),
            to_documents=_github_documents,
            description="GitHub events (by created_at day), de-duplicated by event id",
            day_field="created_at",
            by_id_only=True,
        ),
        SourceSpec(
            name="costar",
            raw_asset="raw/costar_properties",
            raw_table="raw.costar_properties",
            folders={"property": "batches"},
            parse=lambda e, o: costar.CoStarProperty.model_validate(o),
            record_id=lambda e, r: r.property_id,
            to_documents=_one_each(costar.normalize),
            file_pattern="costar_{date}.csv",
            csv_columns=list(costar.COLUMNS),
            description="CoStar property batch files (by batch day)",
            freshness=timedelta(hours=26),  # one delivery a day
        ),
        SourceSpec(
            name="apollo",
            raw_asset="raw/apollo_contacts",
            raw_table="raw.apollo_contacts",
            folders={"contact": "contacts"},
            parse=lambda e, o: apollo.parse(o),
            record_id=lambda e, r: r.id,
            to_documents=_apollo_documents,
            description="Apollo.io people (by updated_at day)",
            day_field="updated_at",
        ),
    ]
}


def raw_tables() -> list[str]:
    """Every registered source's raw table, for the warehouse's DDL (its ``raw_tables``):
    the store renders one table of the raw layer's shape per name."""
    return [spec.raw_table for spec in SPECS.values()]


def raw_records(spec: SourceSpec, rows: list[dict[str, Any]]) -> list[RawRecord]:
    """Stored raw rows (entity, payload, partition_date) back into parsed records."""
    out = []
    for row in rows:
        payload = json.loads(row["payload"])
        day = row["partition_date"]
        day = day.date() if hasattr(day, "date") and not isinstance(day, date) else day
        out.append(RawRecord(row["entity"], spec.parse(row["entity"], payload), payload, day))
    return out
