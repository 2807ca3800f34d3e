"""LanceDB implementation of the vector store (the local profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa

from .vector_store import Hit, VectorRecord, VectorStore


class LanceDBVectorStore(VectorStore):
    uri: str
    table_name: str = "chunks"

    def _schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field("id", pa.string(), nullable=False),
                pa.field("vector", pa.list_(pa.float32(), self.dim)),
                pa.field("text", pa.string()),
                pa.field("doc_id", pa.string()),
                pa.field("source", pa.string()),
                pa.field("content_hash", pa.string()),
                pa.field("partition_date", pa.string()),
            ]
        )

    def _table(self) -> Any:
        Path(self.uri).mkdir(parents=True, exist_ok=True)
        db = lancedb.connect(self.uri)
        return db.create_table(self.table_name, schema=self._schema(), exist_ok=True)

    def upsert(self, records: list[VectorRecord]) -> int:
        if not records:
            return 0
        self._check_dim(records)
        data = pa.Table.from_pylist(
            [
                {
                    "id": r.id,
                    "vector": np.asarray(r.vector, dtype=np.float32),
                    "text": r.text,
                    "doc_id": r.doc_id,
                    "source": r.source,
                    "content_hash": r.content_hash,
                    "partition_date": r.partition_date,
                }
                for r in records
            ],
            schema=self._schema(),
        )
        (
            self._table()
            .merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(data)
        )
        return len(records)

    def delete(self, ids: list[str]) -> int:
        if not ids:
            return 0
        table = self._table()
        for i in range(0, len(ids), 500):
            batch = ids[i : i + 500]
            quoted = ", ".join("'" + x.replace("'", "''") + "'" for x in batch)
            table.delete(f"id IN ({quoted})")
        return len(ids)

    def count(self) -> int:
        # Reading creates nothing: a count before the first sync is 0, not a new table.
        if not Path(self.uri).exists():
            return 0
        try:
            table = lancedb.connect(self.uri).open_table(self.table_name)
        except ValueError:  # "Table ... was not found"
            return 0
        return int(table.count_rows())

    def ids(self) -> set[str]:
        return set(self._table().to_arrow().column("id").to_pylist())

    def query(self, vector: np.ndarray, top_k: int = 5, source: str | None = None) -> list[Hit]:
        search = self._table().search(np.asarray(vector, dtype=np.float32)).metric("cosine")
        if source is not None:
            search = search.where(
                f"source = '{source.replace(chr(39), chr(39) * 2)}'", prefilter=True
            )
        rows = search.limit(top_k).to_list()
        return [
            Hit(
                id=r["id"],
                score=1.0 - float(r["_distance"]),
                text=r["text"],
                doc_id=r["doc_id"],
                source=r["source"],
                metadata={"partition_date": r["partition_date"], "content_hash": r["content_hash"]},
            )
            for r in rows
        ]
