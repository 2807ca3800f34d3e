"""Turns stored document rows into chunks, with the strategy their kind calls for."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sophia_pipeline.sources.documents import DocumentKind, Turn

from .chunking.base import Chunk, TokenCounterLike
from .chunking.conversation import chunk_conversation


def chunk_row(row: Mapping[str, Any], counter: TokenCounterLike) -> list[Chunk]:
    kind = DocumentKind(row["kind"])
    if kind is DocumentKind.CONVERSATION:
        turns = [Turn.model_validate(t) for t in json.loads(row["turns"] or "[]")]
        return chunk_conversation(row["doc_id"], turns, counter)
    from .chunking.dispatch import chunk_for_kind  # the other three strategies

    return chunk_for_kind(kind, row["doc_id"], row["text"] or "", counter, title=row["title"])


def chunk_rows(
    rows: Iterable[Mapping[str, Any]], counter: TokenCounterLike
) -> list[tuple[Chunk, date]]:
    """Every live document's chunks, each with its document's partition date; a deleted
    (tombstoned) document has none, so its vectors leave the index."""
    out: list[tuple[Chunk, date]] = []
    for row in rows:
        if row["deleted"]:
            continue
        day = row["partition_date"]
        out.extend((c, day) for c in chunk_row(row, counter))
    return out
