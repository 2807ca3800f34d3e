"""Pinecone implementation of the vector store (the prod profile): a thin adapter over
the ``pinecone`` SDK's data-plane calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from .vector_store import METADATA_FIELDS, Filters, Hit, RowMetadata, VectorRecord, VectorStore

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
                            **metadata_of(r.meta),
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

    def query(
        self, vector: np.ndarray, top_k: int = 5, filters: Filters | None = None
    ) -> list[Hit]:
        res = self._index().query(
            vector=np.asarray(vector, dtype=np.float32).tolist(),
            top_k=top_k,
            namespace=self.namespace,
            include_metadata=True,
            filter=pinecone_filter(filters),
        )
        return [_hit(m) for m in res["matches"]]

    # No keyword leg: a dense index has no full-text search (sparse-dense hybrid needs a
    # sparse encoder at write and query time, which this adapter does not run), so
    # ``supports_keyword`` stays False and search answers in semantic mode.


def _epoch(value: datetime) -> float:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.timestamp()


def metadata_of(meta: RowMetadata) -> dict[str, Any]:
    """Pinecone metadata for a row's provenance: nulls left out (Pinecone refuses them),
    datetimes as ISO text plus epoch seconds (``occurred_ts``), since Pinecone's range
    operators compare numbers only."""
    out: dict[str, Any] = {}
    for name, value in meta.as_dict().items():
        if value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    if meta.occurred_at is not None:
        out["occurred_ts"] = _epoch(meta.occurred_at)
    return out


def pinecone_filter(filters: Filters | None) -> dict[str, Any] | None:
    """Pinecone's metadata-filter document for ``filters``: values travel as JSON data."""
    if filters is None or filters.is_empty():
        return None
    parts: list[dict[str, Any]] = []
    if filters.sources:
        parts.append({"source": {"$in": list(filters.sources)}})
    if filters.entity_types:
        parts.append({"entity_type": {"$in": list(filters.entity_types)}})
    if filters.account_id is not None:
        parts.append({"account_id": {"$eq": filters.account_id}})
    if filters.occurred_from is not None:
        parts.append({"occurred_ts": {"$gte": _epoch(filters.occurred_from)}})
    if filters.occurred_to is not None:
        parts.append({"occurred_ts": {"$lte": _epoch(filters.occurred_to)}})
    if filters.speaker is not None:
        parts.append(
            {"$or": [{"speaker": {"$eq": filters.speaker}}, {"author": {"$eq": filters.speaker}}]}
        )
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _parse_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _hit(match: dict[str, Any]) -> Hit:
    md = match.get("metadata") or {}
    fields: dict[str, Any] = {name: md.get(name) for name in METADATA_FIELDS}
    for name in ("occurred_at", "updated_at"):
        fields[name] = _parse_datetime(fields[name])
    for name in ("ordinal", "char_start", "char_end"):
        if fields[name] is not None:
            fields[name] = int(fields[name])  # JSON numbers come back as floats
    return Hit(
        id=match["id"],
        score=float(match["score"]),
        text=str(md.get("text", "")),
        doc_id=str(md.get("doc_id", "")),
        source=str(md.get("source", "")),
        meta=RowMetadata(**fields),
        metadata={
            k: str(md[k]) for k in ("partition_date", "content_hash") if md.get(k) is not None
        },
    )
