"""Pinecone implementation of the vector store (the prod profile): a thin adapter over
the ``pinecone`` SDK's data-plane calls."""

from __future__ import annotations

from typing import Any

import numpy as np

from .vector_store import Hit, VectorRecord, VectorStore

_UPSERT_BATCH = 100  # Pinecone caps an upsert request at 2 MB / 1000 vectors
_METADATA_TEXT_CHARS = 30_000  # metadata is capped at 40 KB per vector


class PineconeVectorStore(VectorStore):
    api_key: str
    index_host: str  # the index's data-plane host (https://... or http://localhost for tests)
    namespace: str = "sophia"

    def _index(self) -> Any:
        from pinecone import Pinecone

        return Pinecone(api_key=self.api_key).Index(host=self.index_host)

    def upsert(self, records: list[VectorRecord]) -> int:
        self._check_dim(records)
        index = self._index()
        for i in range(0, len(records), _UPSERT_BATCH):
            batch = records[i : i + _UPSERT_BATCH]
            index.upsert(
                vectors=[
                    {
                        "id": r.id,
                        "values": np.asarray(r.vector, dtype=np.float32).tolist(),
                        "metadata": {
                            "text": r.text[:_METADATA_TEXT_CHARS],
                            "doc_id": r.doc_id,
                            "source": r.source,
                            "content_hash": r.content_hash,
                            "partition_date": r.partition_date,
                        },
                    }
                    for r in batch
                ],
                namespace=self.namespace,
            )
        return len(records)

    def delete(self, ids: list[str]) -> int:
        index = self._index()
        for i in range(0, len(ids), 1000):
            index.delete(ids=ids[i : i + 1000], namespace=self.namespace)
        return len(ids)

    def count(self) -> int:
        stats = self._index().describe_index_stats()
        ns = (stats.get("namespaces") or {}).get(self.namespace)
        return int(ns["vector_count"]) if ns else 0

    def ids(self) -> set[str]:
        out: set[str] = set()
        for page in self._index().list(namespace=self.namespace):
            # pinecone 10 yields pages of ListItem (an id, possibly None).
            out.update(str(item.id) for item in page if item.id is not None)
        return out

    def query(self, vector: np.ndarray, top_k: int = 5, source: str | None = None) -> list[Hit]:
        res = self._index().query(
            vector=np.asarray(vector, dtype=np.float32).tolist(),
            top_k=top_k,
            namespace=self.namespace,
            include_metadata=True,
            filter={"source": {"$eq": source}} if source else None,
        )
        hits = []
        for m in res["matches"]:
            md = m.get("metadata") or {}
            hits.append(
                Hit(
                    id=m["id"],
                    score=float(m["score"]),
                    text=str(md.get("text", "")),
                    doc_id=str(md.get("doc_id", "")),
                    source=str(md.get("source", "")),
                    metadata={k: str(v) for k, v in md.items() if k not in {"text"}},
                )
            )
        return hits
