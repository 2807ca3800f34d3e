"""Reads and writes of the pipeline's own tables, on any ``Warehouse``.

Every write here is idempotent: append-if-new for the raw layer, replace by window or by
key everywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from sophia_pipeline.processing.documents_to_chunks import PlacedChunk
from sophia_pipeline.processing.vectors import from_bytes, to_bytes
from sophia_pipeline.sources.documents import Document
from sophia_pipeline.sources.landing import Accepted, Rejected

from .warehouse import Transaction, Warehouse, checked_table

_IN_BATCH = 500


def utc_naive(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _in_batches(values: Sequence[str]) -> list[list[str]]:
    return [list(values[i : i + _IN_BATCH]) for i in range(0, len(values), _IN_BATCH)]


# --- raw layer -------------------------------------------------------------------------


@contextmanager
def _within(target: Warehouse | Transaction) -> Iterator[Transaction]:
    """``target`` itself when it is an open transaction, else a new one on it."""
    if isinstance(target, Transaction):
        yield target
    else:
        with target.transaction() as tx:
            yield tx


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
    with _within(target) as tx:
        known: set[tuple[str, str]] = set()
        known_ids: set[str] = set()
        for batch in _in_batches(sorted({k for k, _ in keyed})):
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


# --- dead letters ----------------------------------------------------------------------


def record_dead_letters(
    target: Warehouse | Transaction,
    source: str,
    stage: str,
    rejected: Sequence[Rejected],
    partition_date: date | None,
) -> int:
    """Upserts rejected records by a stable id: a re-run bumps ``attempts`` and
    ``last_seen`` instead of adding a row. Runs in ``target``'s transaction, or its own."""
    unique = {r.dead_letter_id: r for r in rejected}
    if not unique:
        return 0
    with _within(target) as tx:
        prior: dict[str, tuple[int, Any]] = {}
        for batch in _in_batches(sorted(unique)):
            ph = ", ".join("?" for _ in batch)
            for dl_id, attempts, first_seen in tx.rows(
                "SELECT dead_letter_id, attempts, first_seen FROM ops.dead_letters "
                f"WHERE dead_letter_id IN ({ph})",
                batch,
            ):
                prior[dl_id] = (int(attempts), first_seen)
            tx.execute(f"DELETE FROM ops.dead_letters WHERE dead_letter_id IN ({ph})", batch)
        now = now_utc()
        rows = []
        for dl_id, r in unique.items():
            attempts, first = prior.get(dl_id, (0, now))
            rows.append(
                {
                    "dead_letter_id": dl_id,
                    "source": source,
                    "stage": stage,
                    "source_file": r.source_file,
                    "line_no": r.line_no,
                    "partition_date": partition_date,
                    "payload": r.raw,
                    "error": r.error,
                    "attempts": attempts + 1,
                    "first_seen": first,
                    "last_seen": now,
                }
            )
        return tx.insert("ops.dead_letters", rows)


# --- documents and chunks --------------------------------------------------------------


def documents_frame(docs: list[tuple[Document, date]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "doc_id": d.doc_id,
                "source": d.source,
                "entity_type": d.entity_type,
                "source_id": d.source_id,
                "kind": d.kind.value,
                "title": d.title,
                "text": d.text,
                "turns": json.dumps([t.model_dump() for t in d.turns]),
                "author": d.author,
                "account_id": d.account_id,
                "deal_id": d.deal_id,
                "occurred_at": utc_naive(d.occurred_at),
                "updated_at": utc_naive(d.updated_at),
                "deleted": d.deleted,
                "attributes": json.dumps(d.attributes, sort_keys=True, default=str),
                "partition_date": day,
            }
            for d, day in docs
        ]
    )


def write_documents(
    wh: Warehouse, source: str, docs: list[tuple[Document, date]], start: date, end: date
) -> int:
    """The window's documents become exactly ``docs``. A document lives in the partition
    of its newest version: a copy left in an older partition is removed, and a document
    that a newer partition already holds is left there (re-running an old day never
    brings back a superseded version)."""
    ids = [d.doc_id for d, _ in docs]
    newer: set[str] = set()
    for batch in _in_batches(ids):
        ph = ", ".join("?" for _ in batch)
        newer.update(
            wh.query(
                f"SELECT doc_id FROM staging.documents WHERE source = ? AND doc_id IN ({ph}) "
                "AND partition_date >= ?",
                [source, *batch, end],
            )["doc_id"]
        )
        wh.execute(
            f"DELETE FROM staging.documents WHERE source = ? AND doc_id IN ({ph}) "
            "AND partition_date < ?",
            [source, *batch, start],
        )
    docs = [(d, day) for d, day in docs if d.doc_id not in newer]
    return wh.replace_window(
        "staging.documents",
        documents_frame(docs),
        "partition_date",
        start,
        end,
        "source = ?",
        [source],
    )


def read_documents(wh: Warehouse, source: str, start: date, end: date) -> pd.DataFrame:
    return wh.query(
        "SELECT * FROM staging.documents WHERE source = ? AND partition_date >= ? "
        "AND partition_date < ? ORDER BY doc_id",
        [source, start, end],
    )


def write_chunks(
    wh: Warehouse, source: str, chunks: list[PlacedChunk], start: date, end: date
) -> int:
    df = pd.DataFrame(
        [
            {
                "chunk_id": p.chunk.chunk_id,
                "doc_id": p.chunk.doc_id,
                "source": source,
                "ordinal": p.chunk.ordinal,
                "text": p.chunk.text,
                "start_char": p.chunk.start,
                "end_char": p.chunk.end,
                "tokens": p.chunk.tokens,
                "label": p.chunk.label,
                "content_hash": p.chunk.content_hash,
                "chunker_version": p.chunker_version,
                "sentiment": p.sentiment,
                "partition_date": p.day,
            }
            for p in chunks
        ]
    )
    # Chunks of the window's documents are replaced wherever they were (a document that
    # moved to a newer partition takes its chunks along).
    return wh.replace_where(
        "staging.chunks",
        df,
        "source = ? AND ((partition_date >= ? AND partition_date < ?) OR doc_id IN ("
        "SELECT doc_id FROM staging.documents WHERE source = ? "
        "AND partition_date >= ? AND partition_date < ?))",
        [source, start, end, source, start, end],
    )


def read_chunks(wh: Warehouse, start: date, end: date, source: str | None = None) -> pd.DataFrame:
    where, params = "partition_date >= ? AND partition_date < ?", [start, end]
    if source is not None:
        where += " AND source = ?"
        params.append(source)  # type: ignore[arg-type]
    return wh.query(f"SELECT * FROM staging.chunks WHERE {where} ORDER BY chunk_id", params)


def replace_for_window_docs(
    wh: Warehouse, table: str, df: pd.DataFrame, start: date, end: date
) -> int:
    """Replaces a per-document table's rows for the window: rows in the window's
    partitions, and rows of documents now in the window that sat in another partition."""
    return wh.replace_where(
        table,
        df,
        "(partition_date >= ? AND partition_date < ?) OR doc_id IN ("
        "SELECT doc_id FROM staging.documents WHERE partition_date >= ? AND partition_date < ?)",
        [start, end, start, end],
    )


def read_documents_all_sources(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    return wh.query(
        "SELECT * FROM staging.documents WHERE partition_date >= ? AND partition_date < ? "
        "ORDER BY doc_id",
        [start, end],
    )


def live_deals(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """HubSpot deal id -> its attributes (dealstage, amount, ...), newest version."""
    df = wh.query(
        "SELECT source_id, attributes FROM staging.documents "
        "WHERE source = 'hubspot' AND entity_type = 'deal' AND NOT deleted"
    )
    return {
        sid: json.loads(a or "{}") for sid, a in zip(df["source_id"], df["attributes"], strict=True)
    }


# --- embedding cache -------------------------------------------------------------------


def cached_hashes(wh: Warehouse, model_id: str, hashes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for batch in _in_batches(sorted(set(hashes))):
        ph = ", ".join("?" for _ in batch)
        df = wh.query(
            "SELECT content_hash FROM embeddings.embedding_cache "
            f"WHERE model_id = ? AND content_hash IN ({ph})",
            [model_id, *batch],
        )
        found.update(df["content_hash"])
    return found


def cached_vectors(
    wh: Warehouse, model_id: str, hashes: Sequence[str], dim: int
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for batch in _in_batches(sorted(set(hashes))):
        ph = ", ".join("?" for _ in batch)
        df = wh.query(
            "SELECT content_hash, vector FROM embeddings.embedding_cache "
            f"WHERE model_id = ? AND content_hash IN ({ph})",
            [model_id, *batch],
        )
        for h, blob in zip(df["content_hash"], df["vector"], strict=True):
            out[h] = from_bytes(blob, dim)
    return out


def store_vectors(wh: Warehouse, model_id: str, vectors: dict[str, np.ndarray]) -> int:
    if not vectors:
        return 0
    now = now_utc()
    df = pd.DataFrame(
        [
            {
                "content_hash": h,
                "model_id": model_id,
                "dim": int(v.shape[0]),
                "vector": to_bytes(v),
                "created_at": now,
            }
            for h, v in vectors.items()
        ]
    )
    hashes = list(vectors)
    total = 0
    for batch in _in_batches(hashes):
        ph = ", ".join("?" for _ in batch)
        total += wh.replace_where(
            "embeddings.embedding_cache",
            df[df["content_hash"].isin(batch)],
            f"model_id = ? AND content_hash IN ({ph})",
            [model_id, *batch],
        )
    return total


def record_embed_run(
    wh: Warehouse,
    run_id: str,
    asset: str,
    partition_range: str,
    total: int,
    embedded: int,
    hits: int,
    seconds: float,
) -> None:
    df = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "asset": asset,
                "partition_range": partition_range,
                "texts_total": total,
                "texts_embedded": embedded,
                "cache_hits": hits,
                "seconds": seconds,
                "recorded_at": now_utc(),
            }
        ]
    )
    wh.replace_where("ops.embed_runs", df, "run_id = ? AND asset = ?", [run_id, asset])


# --- vector manifest -------------------------------------------------------------------


def read_manifest(wh: Warehouse) -> pd.DataFrame:
    return wh.query("SELECT * FROM ops.vector_manifest")


def read_all_chunk_keys(wh: Warehouse) -> pd.DataFrame:
    return wh.query(
        "SELECT chunk_id, doc_id, source, content_hash, chunker_version, partition_date "
        "FROM staging.chunks"
    )


def read_chunks_by_id(wh: Warehouse, chunk_ids: Sequence[str]) -> pd.DataFrame:
    frames = []
    for batch in _in_batches(list(chunk_ids)):
        ph = ", ".join("?" for _ in batch)
        frames.append(wh.query(f"SELECT * FROM staging.chunks WHERE chunk_id IN ({ph})", batch))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_manifest(wh: Warehouse, chunks: pd.DataFrame, model_id: str) -> int:
    """The manifest becomes exactly what the index now holds."""
    df = pd.DataFrame(
        {
            "chunk_id": chunks["chunk_id"],
            "doc_id": chunks["doc_id"],
            "source": chunks["source"],
            "content_hash": chunks["content_hash"],
            "model_id": model_id,
            "chunker_version": chunks["chunker_version"],
            "partition_date": chunks["partition_date"],
            "indexed_at": now_utc(),
        }
    )
    return wh.replace_where("ops.vector_manifest", df, "1 = 1")


# --- webhook cursors --------------------------------------------------------------------


def commit_webhook_cursor(wh: Warehouse, source: str, cursor: str, run_id: str) -> None:
    """Records that the source's landed events up to ``cursor`` are in the raw layer."""
    df = pd.DataFrame(
        [{"source": source, "cursor": cursor, "run_id": run_id, "committed_at": now_utc()}]
    )
    wh.replace_where("ops.webhook_cursors", df, "source = ?", [source])


def webhook_cursors(wh: Warehouse) -> dict[str, str]:
    df = wh.query("SELECT source, cursor FROM ops.webhook_cursors")
    return dict(zip(df["source"], df["cursor"], strict=True))


# --- per-partition counts and competitor alerts (the asset graph's own reads/writes) ----


def rows_by_day(
    wh: Warehouse, table: str, start: date, end: date, source: str | None = None
) -> dict[date, int]:
    """Rows per ``partition_date`` of ``table`` in [start, end) (of ``source`` when given):
    what each partition holds after a write, for its own materialization's metadata."""
    where, params = "partition_date >= ? AND partition_date < ?", [start, end]
    if source is not None:
        where += " AND source = ?"
        params.append(source)  # type: ignore[arg-type]
    df = wh.query(
        f"SELECT partition_date, COUNT(*) AS n FROM {checked_table(table)} "
        f"WHERE {where} GROUP BY partition_date",
        params,
    )
    return {
        pd.Timestamp(d).date(): int(n) for d, n in zip(df["partition_date"], df["n"], strict=True)
    }


ALERTS_TABLE = "executive_intelligence.alerts"


def competitor_mentions_between(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Competitor, threat level and time of every mention in [start, end)."""
    return wh.query(
        "SELECT competitor, threat_level, mentioned_at "
        "FROM competitive_intelligence.competitor_mentions "
        "WHERE mentioned_at >= ? AND mentioned_at < ?",
        [start, end],
    )


def known_alerts(wh: Warehouse, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored alert rows among ``ids`` (status, attempts, created_at), by alert id."""
    out: dict[str, dict[str, Any]] = {}
    for batch in _in_batches(list(ids)):
        ph = ", ".join("?" for _ in batch)
        df = wh.query(
            f"SELECT alert_id, status, attempts, created_at FROM {ALERTS_TABLE} "
            f"WHERE alert_id IN ({ph})",
            batch,
        )
        out.update({r["alert_id"]: r for r in df.to_dict("records")})
    return out


def write_alerts(wh: Warehouse, rows: list[dict[str, Any]]) -> int:
    """Upserts alert rows by alert id: one row per alert, however often it is examined."""
    return wh.replace_keys(ALERTS_TABLE, pd.DataFrame(rows), "alert_id")


def vector_manifest_ids(wh: Warehouse) -> set[str]:
    return set(wh.query("SELECT chunk_id FROM ops.vector_manifest")["chunk_id"])
