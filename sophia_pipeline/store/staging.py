"""STAGING: documents (one schema for every source) and their chunks.

Writes replace by window or by key: a document lives in the partition of its newest
version, and its chunks follow it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from sophia_pipeline.documents import Document
from sophia_pipeline.processing.documents_to_chunks import PlacedChunk

from .common import in_batches, utc_naive
from .warehouse import Warehouse


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
    for batch in in_batches(ids):
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


def read_all_chunk_keys(wh: Warehouse) -> pd.DataFrame:
    """Every chunk without its text: identity, hashes, and the fields an index row cites."""
    return wh.query(
        "SELECT chunk_id, doc_id, source, content_hash, chunker_version, partition_date, "
        "ordinal, start_char, end_char, label FROM staging.chunks"
    )


def read_document_metadata(wh: Warehouse) -> pd.DataFrame:
    """Every document's provenance fields (no text): what index rows carry and cite."""
    return wh.query(
        "SELECT doc_id, entity_type, kind, title, author, account_id, deal_id, occurred_at, "
        "updated_at, attributes FROM staging.documents"
    )


def read_chunks_by_id(wh: Warehouse, chunk_ids: Sequence[str]) -> pd.DataFrame:
    frames = []
    for batch in in_batches(list(chunk_ids)):
        ph = ", ".join("?" for _ in batch)
        frames.append(wh.query(f"SELECT * FROM staging.chunks WHERE chunk_id IN ({ph})", batch))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def chunk_spans_of_window_documents(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Id, document and character span of every chunk of the window's documents."""
    return wh.query(
        "SELECT chunk_id, doc_id, start_char, end_char FROM staging.chunks "
        "WHERE doc_id IN (SELECT doc_id FROM staging.documents "
        "WHERE partition_date >= ? AND partition_date < ?)",
        [start, end],
    )


# --- the documents the KPI formulas read ---------------------------------------------------


def deal_documents(wh: Warehouse) -> pd.DataFrame:
    return wh.query(
        "SELECT source_id, account_id, occurred_at, attributes FROM staging.documents "
        "WHERE source = 'hubspot' AND entity_type = 'deal' AND NOT deleted"
    )


def company_documents(wh: Warehouse) -> pd.DataFrame:
    return wh.query(
        "SELECT account_id, title FROM staging.documents "
        "WHERE source = 'hubspot' AND entity_type = 'company' AND NOT deleted"
    )


def issue_documents(wh: Warehouse) -> pd.DataFrame:
    """Every Linear issue, archived ones included: the work they record was still done."""
    return wh.query(
        "SELECT source_id, title, author, occurred_at, attributes FROM staging.documents "
        "WHERE source = 'linear' AND entity_type = 'issue'"
    )


def pull_request_documents(wh: Warehouse) -> pd.DataFrame:
    return wh.query(
        "SELECT source_id, author, occurred_at, attributes FROM staging.documents "
        "WHERE source = 'github' AND entity_type = 'pull_request' AND NOT deleted"
    )


# --- reads of the serving layer ------------------------------------------------------------


def account_company(wh: Warehouse, account_id: str) -> pd.DataFrame:
    """The account's CRM company document (title, attributes): no row for an unknown id."""
    return wh.query(
        "SELECT source_id, title, attributes, updated_at FROM staging.documents "
        "WHERE source = 'hubspot' AND entity_type = 'company' AND account_id = ? AND NOT deleted",
        [account_id],
    )


def account_deals(wh: Warehouse, account_id: str) -> pd.DataFrame:
    """The account's live CRM deals (id, name, dates, attributes JSON), newest first."""
    return wh.query(
        "SELECT source_id, title, occurred_at, updated_at, attributes FROM staging.documents "
        "WHERE source = 'hubspot' AND entity_type = 'deal' AND account_id = ? AND NOT deleted "
        "ORDER BY occurred_at DESC, source_id",
        [account_id],
    )


def account_document_count(wh: Warehouse, account_id: str) -> int:
    """Live documents of any source linked to the account."""
    df = wh.query(
        "SELECT COUNT(*) AS n FROM staging.documents WHERE account_id = ? AND NOT deleted",
        [account_id],
    )
    return int(df["n"].iloc[0])


def chunk_accounts(wh: Warehouse, chunk_ids: Sequence[str]) -> dict[str, str | None]:
    """chunk id -> the account id of its document (None: a document of no account)."""
    out: dict[str, str | None] = {}
    for batch in in_batches(list(chunk_ids)):
        df = wh.query(
            "SELECT c.chunk_id, d.account_id FROM staging.chunks c "
            "JOIN staging.documents d ON d.doc_id = c.doc_id "
            f"WHERE c.chunk_id IN ({', '.join('?' for _ in batch)})",
            batch,
        )
        for cid, acct in zip(df["chunk_id"], df["account_id"], strict=True):
            out[str(cid)] = None if acct is None or pd.isna(acct) else str(acct)
    return out


def documents_per_source(wh: Warehouse) -> pd.DataFrame:
    """Per source: live and deleted documents, entity types, the newest record time
    (occurred_at / updated_at) and the newest partition."""
    return wh.query(
        "SELECT source, SUM(CASE WHEN deleted THEN 0 ELSE 1 END) AS documents, "
        "SUM(CASE WHEN deleted THEN 1 ELSE 0 END) AS deleted, "
        "COUNT(DISTINCT entity_type) AS entity_types, MAX(occurred_at) AS newest_occurred_at, "
        "MAX(updated_at) AS newest_updated_at, MAX(partition_date) AS newest_partition "
        "FROM staging.documents GROUP BY source ORDER BY source"
    )


def chunks_per_source(wh: Warehouse) -> pd.DataFrame:
    return wh.query(
        "SELECT source, COUNT(*) AS chunks FROM staging.chunks GROUP BY source ORDER BY source"
    )
