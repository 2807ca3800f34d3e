"""RAW: every source's record versions, append-only, one partition per landing day."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from sophia_pipeline.sources.landing import Accepted, Rejected

from . import ops
from .common import in_batches, now_utc, within
from .warehouse import Transaction, Warehouse, checked_table


def append_raw(
    target: Warehouse | Transaction,
    table: str,
    accepted: Sequence[Accepted[Any]],
    record_id: Callable[[str, Any], str],
    *,
    by_id_only: bool = False,
) -> tuple[int, int]:
    """Appends record versions whose (id, content hash) is not stored yet, each in the
    partition of the day it landed: returns (new, already loaded). With ``by_id_only``
    any stored id counts (events never change: a second delivery is a duplicate even if
    its shape differs). Runs in ``target``'s transaction, or in one of its own."""
    keyed = [(record_id(a.entity, a.record), a) for a in accepted]
    if not keyed:
        return 0, 0
    with within(target) as tx:
        known: set[tuple[str, str]] = set()
        known_ids: set[str] = set()
        for batch in in_batches(sorted({k for k, _ in keyed})):
            ph = ", ".join("?" for _ in batch)
            for rid, digest in tx.rows(
                f"SELECT record_id, content_hash FROM {checked_table(table)} "
                f"WHERE record_id IN ({ph})",
                batch,
            ):
                known.add((rid, digest))
                known_ids.add(rid)
        loaded_at = now_utc()
        rows = []
        for rid, a in keyed:
            if (rid, a.content_hash) in known or (by_id_only and rid in known_ids):
                continue
            known.add((rid, a.content_hash))
            known_ids.add(rid)
            rows.append(
                {
                    "entity": a.entity,
                    "record_id": rid,
                    "content_hash": a.content_hash,
                    "partition_date": a.day,
                    "source_file": a.source_file,
                    "line_no": a.line_no,
                    "payload": a.raw,
                    "loaded_at": loaded_at,
                }
            )
        tx.insert(table, rows)
    return len(rows), len(keyed) - len(rows)


_NEWEST_VERSIONS = """
    SELECT entity, record_id, payload, partition_date FROM (
        SELECT entity, record_id, payload, partition_date,
               ROW_NUMBER() OVER (
                   PARTITION BY record_id
                   ORDER BY partition_date DESC, loaded_at DESC, line_no DESC
               ) AS rn
        FROM {table} {where}
    ) AS versions
    WHERE rn = 1 {and_window}
    ORDER BY record_id
"""


def latest_raw(wh: Warehouse, table: str, start: date, end: date) -> pd.DataFrame:
    """The newest stored version of each record seen in the window, kept only where that
    newest version is itself in the window: re-running an old day never brings back a
    version a later day superseded. Partition = the day a version landed."""
    t = checked_table(table)
    sql = _NEWEST_VERSIONS.format(
        table=t,
        where=f"WHERE record_id IN (SELECT record_id FROM {t} "
        "WHERE partition_date >= ? AND partition_date < ?)",
        and_window="AND partition_date >= ? AND partition_date < ?",
    )
    return wh.query(sql, [start, end, start, end])


def all_latest_raw(wh: Warehouse, table: str) -> pd.DataFrame:
    """The newest version of every record (for lookups across partitions)."""
    return wh.query(_NEWEST_VERSIONS.format(table=checked_table(table), where="", and_window=""))


def record_ids_since(wh: Warehouse, table: str, since: date) -> set[str]:
    """The ids stored in ``table``'s partitions from ``since`` on."""
    return set(
        wh.query(
            f"SELECT DISTINCT record_id FROM {checked_table(table)} WHERE partition_date >= ?",
            [since],
        )["record_id"]
    )


@dataclass(frozen=True)
class RawLoad:
    """What one run of a raw asset read and must store together: the fetched records,
    the webhook batch's events, the rejects of both, and every cursor saying they were
    read."""

    source: str
    raw_table: str
    stage: str  # the raw asset's key, as dead letters name it
    record_id: Callable[[str, Any], str]
    day: date  # the window's first day, where rejects without a day of their own go
    run_id: str
    fetched: Sequence[Accepted[Any]] = ()
    fetched_by_id_only: bool = False  # polled events: a known id is a duplicate
    webhook: Sequence[Accepted[Any]] = ()
    rejected: Sequence[Rejected] = ()
    cursors: Mapping[str, str] = field(default_factory=dict)
    webhook_cursor: str | None = None


def commit_load(wh: Warehouse, load: RawLoad) -> tuple[int, int, int]:
    """Stores ``load`` in ONE transaction: the new record versions, the dead letters, the
    source's cursors and the webhook cursor. A crash before the commit leaves none of
    them, so the re-run fetches the same records again. Returns (new, already loaded,
    dead letters)."""
    with wh.transaction() as tx:
        new, known = append_raw(
            tx, load.raw_table, load.fetched, load.record_id, by_id_only=load.fetched_by_id_only
        )
        hooked_new, hooked_known = append_raw(tx, load.raw_table, load.webhook, load.record_id)
        dead = ops.record_dead_letters(tx, load.source, load.stage, load.rejected, load.day)
        for name, value in sorted(load.cursors.items()):
            ops.set_cursor_tx(tx, load.source, name, value, load.run_id)
        if load.webhook_cursor is not None:
            ops.commit_webhook_cursor(tx, load.source, load.webhook_cursor, load.run_id)
    return new + hooked_new, known + hooked_known, dead
