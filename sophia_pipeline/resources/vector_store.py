"""The vector store interface: LanceDB locally, Pinecone in production.

Ids are stable chunk ids (``doc_id#ordinal``), so writes are upserts and a re-run never
duplicates a vector. Each row also carries what search filters on and cites (its
provenance: document kind, title, account, speaker, dates, link, span); a field a source
does not have is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import dagster as dg
import numpy as np

EMBEDDING_DIM = 384


@dataclass(frozen=True)
class RowMetadata:
    """Provenance of one chunk: what search filters on and what a citation shows."""

    entity_type: str | None = None
    doc_kind: str | None = None  # conversation | document | code | crm
    title: str | None = None
    account_id: str | None = None
    deal_id: str | None = None
    speaker: str | None = None  # who speaks in the chunk (conversations)
    author: str | None = None  # the document's author / owner / rep
    occurred_at: datetime | None = None  # naive UTC
    updated_at: datetime | None = None  # naive UTC
    url: str | None = None  # the source's own link, where the record has one
    ordinal: int | None = None
    char_start: int | None = None
    char_end: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


METADATA_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RowMetadata))


@dataclass(frozen=True)
class VectorRecord:
    id: str
    vector: np.ndarray
    text: str
    doc_id: str
    source: str
    content_hash: str
    partition_date: str  # ISO date
    meta: RowMetadata = field(default_factory=RowMetadata)


@dataclass(frozen=True)
class Filters:
    """What a query may be restricted to; empty means no restriction. Values are data,
    never query syntax: each store escapes or binds them."""

    sources: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    account_id: str | None = None
    occurred_from: datetime | None = None  # inclusive, naive UTC
    occurred_to: datetime | None = None  # inclusive, naive UTC
    speaker: str | None = None  # matches the chunk's speaker or the document's author

    def is_empty(self) -> bool:
        return self == Filters()


@dataclass(frozen=True)
class Hit:
    id: str
    score: float  # cosine similarity (vector leg) or BM25 (keyword leg); higher is better
    text: str
    doc_id: str
    source: str
    meta: RowMetadata = field(default_factory=RowMetadata)
    metadata: dict[str, str] = field(default_factory=dict)  # store bookkeeping


class VectorStore(dg.ConfigurableResource):
    dim: int = EMBEDDING_DIM

    def upsert(self, records: list[VectorRecord]) -> int:
        raise NotImplementedError

    def delete(self, ids: list[str]) -> int:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def ids(self) -> set[str]:
        raise NotImplementedError

    def query(
        self, vector: np.ndarray, top_k: int = 5, filters: Filters | None = None
    ) -> list[Hit]:
        """The ``top_k`` nearest rows by cosine similarity among those ``filters`` allow."""
        raise NotImplementedError

    @property
    def supports_keyword(self) -> bool:
        """Whether :meth:`keyword` works on this store."""
        return False

    def keyword(self, text: str, top_k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """The ``top_k`` best rows for ``text`` by full-text (BM25) relevance."""
        raise NotImplementedError(f"{type(self).__name__} has no keyword search")

    def ensure_keyword_index(self) -> None:
        """(Re)build the full-text index after writes; a no-op where there is none. Search
        never builds it: the index sync does, so queries stay fast."""

    def _check_dim(self, records: list[VectorRecord]) -> None:
        for r in records:
            if r.vector.shape != (self.dim,):
                raise ValueError(f"{r.id}: vector shape {r.vector.shape}, expected ({self.dim},)")
