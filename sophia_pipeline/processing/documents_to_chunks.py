"""Turns stored document rows into chunks, with the strategy their kind calls for."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sophia_pipeline.documents import DocumentKind, Turn

from .chunking.base import CHUNKER_VERSIONS, Chunk, TokenCounterLike
from .chunking.conversation import chunk_conversation, conversation_header
from .tagging.sentiment import sentiment


def chunk_row(row: Mapping[str, Any], counter: TokenCounterLike) -> list[Chunk]:
    kind = DocumentKind(row["kind"])
    if kind is DocumentKind.CONVERSATION:
        turns = [Turn.model_validate(t) for t in json.loads(row["turns"] or "[]")]
        attrs = row.get("attributes") or "{}"
        header = conversation_header(
            str(row.get("source") or ""),
            row.get("title"),
            row.get("occurred_at"),
            json.loads(attrs) if isinstance(attrs, str) else attrs,
        )
        return chunk_conversation(row["doc_id"], turns, counter, header=header)
    from .chunking.dispatch import chunk_for_kind  # the other three strategies

    return chunk_for_kind(kind, row["doc_id"], row["text"] or "", counter, title=row["title"])


@dataclass(frozen=True)
class PlacedChunk:
    chunk: Chunk
    day: date  # the document's partition
    chunker_version: str  # of the strategy that cut it
    sentiment: float  # VADER compound of the chunk's text, [-1, 1]


def chunk_rows(rows: Iterable[Mapping[str, Any]], counter: TokenCounterLike) -> list[PlacedChunk]:
    """Every live document's chunks, each with its document's partition date; a deleted
    (tombstoned) document has none, so its vectors leave the index."""
    out: list[PlacedChunk] = []
    for row in rows:
        if row["deleted"]:
            continue
        version = CHUNKER_VERSIONS[DocumentKind(row["kind"]).value]
        for c in chunk_row(row, counter):
            out.append(PlacedChunk(c, row["partition_date"], version, sentiment(c.text)))
    return out
