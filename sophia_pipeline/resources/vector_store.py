"""The vector store interface: LanceDB locally, Pinecone in production.

Ids are stable chunk ids (``doc_id#ordinal``), so writes are upserts and a re-run never
duplicates a vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
import numpy as np

EMBEDDING_DIM = 384


@dataclass(frozen=True)
class VectorRecord:
    id: str
    vector: np.ndarray
    text: str
    doc_id: str
    source: str
    content_hash: str
    partition_date: str  # ISO date


@dataclass(frozen=True)
class Hit:
    id: str
    score: float  # cosine similarity, higher is closer
    text: str
    doc_id: str
    source: str
    metadata: dict[str, str] = field(default_factory=dict)


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

    def query(self, vector: np.ndarray, top_k: int = 5, source: str | None = None) -> list[Hit]:
        raise NotImplementedError

    def _check_dim(self, records: list[VectorRecord]) -> None:
        for r in records:
            if r.vector.shape != (self.dim,):
                raise ValueError(f"{r.id}: vector shape {r.vector.shape}, expected ({self.dim},)")
