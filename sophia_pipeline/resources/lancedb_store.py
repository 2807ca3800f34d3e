"""LanceDB implementation of the vector store (the local profile).

Rows carry the chunk text (for LanceDB's native full-text index, the keyword leg of
hybrid search) and the provenance fields of :class:`RowMetadata`. A table written by an
older version (the seven-column shape) gains the new columns, all null, the first time it
is opened; the index sync then rewrites its rows (``ROW_SCHEMA_VERSION`` in
``processing/vectors.py``).

``lancedb`` is imported where it is used: its import takes about two seconds, which every
process that loads the location (the UI's code server, each CLI run) would otherwise pay,
whether or not anything touches the index.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import PrivateAttr

from .lance_row_count import RowCountCache
from .vector_store import METADATA_FIELDS, Filters, Hit, RowMetadata, VectorRecord, VectorStore

_TEXT_INDEX = "text_idx"

_METADATA_TYPES: dict[str, pa.DataType] = {
    "entity_type": pa.string(),
    "doc_kind": pa.string(),
    "title": pa.string(),
    "account_id": pa.string(),
    "deal_id": pa.string(),
    "speaker": pa.string(),
    "author": pa.string(),
    "occurred_at": pa.timestamp("us"),
    "updated_at": pa.timestamp("us"),
    "url": pa.string(),
    "ordinal": pa.int32(),
    "char_start": pa.int32(),
    "char_end": pa.int32(),
}
assert set(_METADATA_TYPES) == set(METADATA_FIELDS), "a RowMetadata field has no column type"


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal: quotes doubled, so no value can end the literal.
    A NUL cannot be written inside a literal at all, so it is refused."""
    if "\x00" in value:
        raise ValueError("a filter value may not contain NUL")
    return "'" + value.replace("'", "''") + "'"


def _sql_timestamp(value: datetime) -> str:
    # isoformat of a datetime is digits, '-', ':', '.', 'T' (and an offset): nothing to
    # escape; the store keeps naive UTC, so an aware value is converted first.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return f"CAST('{value.isoformat(sep=' ')}' AS TIMESTAMP)"


def where_clause(filters: Filters | None) -> str | None:
    """The one place a LanceDB ``where`` string is built: every value is a quoted,
    escaped literal (or a formatted timestamp), never raw text."""
    if filters is None or filters.is_empty():
        return None
    parts: list[str] = []
    if filters.sources:
        parts.append(f"source IN ({', '.join(sql_string(s) for s in filters.sources)})")
    if filters.entity_types:
        parts.append(f"entity_type IN ({', '.join(sql_string(s) for s in filters.entity_types)})")
    if filters.account_id is not None:
        parts.append(f"account_id = {sql_string(filters.account_id)}")
    if filters.occurred_from is not None:
        parts.append(f"occurred_at >= {_sql_timestamp(filters.occurred_from)}")
    if filters.occurred_to is not None:
        parts.append(f"occurred_at <= {_sql_timestamp(filters.occurred_to)}")
    if filters.speaker is not None:
        who = sql_string(filters.speaker)
        parts.append(f"(speaker = {who} OR author = {who})")
    return " AND ".join(parts)


# How stale a search may read: a reader's open table checks for versions written by other
# processes (the index sync) at most this often, instead of re-opening the table (two
# opens and an index listing per query cost more than the search itself).
READ_CONSISTENCY = timedelta(seconds=5)


class LanceDBVectorStore(VectorStore):
    uri: str
    table_name: str = "chunks"

    _reader: Any = PrivateAttr(default=None)
    _keyword_ready: bool = PrivateAttr(default=False)

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
                *(pa.field(name, _METADATA_TYPES[name]) for name in METADATA_FIELDS),
            ]
        )

    def _table(self) -> Any:
        table = self._existing()
        if table is None:
            Path(self.uri).mkdir(parents=True, exist_ok=True)
            import lancedb

            db = lancedb.connect(self.uri)
            # exist_ok: another writer may have created it since; an existing table of
            # another shape is opened above, never here (create_table would refuse it).
            return db.create_table(self.table_name, schema=self._schema(), exist_ok=True)
        missing = [f for f in self._schema() if f.name not in table.schema.names]
        if missing:
            # A table of an older row shape: add the new columns (null until the index
            # sync rewrites the rows). Adding columns rewrites no data.
            table.add_columns(missing)
        return table

    def _existing(self) -> Any | None:
        """The table if it exists; reading creates nothing."""
        if not Path(self.uri).exists():
            return None
        try:
            import lancedb

            return lancedb.connect(self.uri).open_table(self.table_name)
        except ValueError:  # "Table ... was not found"
            return None

    def _search_table(self) -> Any | None:
        """The table for searches, opened once per store object and refreshed by LanceDB
        itself (``READ_CONSISTENCY``); None while no table exists."""
        if self._reader is None:
            if not Path(self.uri).exists():
                return None
            try:
                import lancedb

                db = lancedb.connect(self.uri, read_consistency_interval=READ_CONSISTENCY)
                self._reader = db.open_table(self.table_name)
            except ValueError:  # "Table ... was not found"
                return None
        return self._reader

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
                    **r.meta.as_dict(),
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
        self._reader = None  # this object's own writes are visible to its next search
        return len(records)

    def delete(self, ids: list[str]) -> int:
        if not ids:
            return 0
        table = self._table()
        for i in range(0, len(ids), 500):
            batch = ids[i : i + 500]
            table.delete(f"id IN ({', '.join(sql_string(x) for x in batch)})")
        self._reader = None
        return len(ids)

    def count(self) -> int:
        """Rows now, counted by LanceDB, and remembered beside the table for readers that
        would rather not import LanceDB (``local_stores.local_vector_count``); kept only
        when no version was committed while counting, so a count is always keyed by the
        version it counted."""
        cache = RowCountCache(self.uri, self.table_name)
        before = cache.token()
        table = self._existing()
        rows = 0 if table is None else int(table.count_rows())
        if before is not None and table is not None and cache.token() == before:
            cache.put(before, rows)
        return rows

    def ids(self) -> set[str]:
        return set(self._table().to_arrow().column("id").to_pylist())

    def query(
        self, vector: np.ndarray, top_k: int = 5, filters: Filters | None = None
    ) -> list[Hit]:
        table = self._search_table()
        if table is None:
            return []
        search = table.search(np.asarray(vector, dtype=np.float32)).metric("cosine")
        where = where_clause(filters)
        if where:
            search = search.where(where, prefilter=True)
        rows = search.select([*self._result_columns(), "_distance"]).limit(top_k).to_list()
        return [_hit(r, 1.0 - float(r["_distance"])) for r in rows]

    @property
    def supports_keyword(self) -> bool:
        return True

    def keyword(self, text: str, top_k: int = 5, filters: Filters | None = None) -> list[Hit]:
        table = self._search_table()
        if table is None:
            return []
        if not self._keyword_ready:
            # Listing indices costs a round of I/O: once the index exists, it stays.
            if not _has_text_index(table):
                return []
            self._keyword_ready = True
        # A MatchQuery takes the words as data: no query-parser syntax (quotes, AND, field
        # names) is interpreted, whatever the user typed.
        # (mypy reads the pydantic model's defaulted keyword fields as required.)
        from lancedb.query import MatchQuery

        query = MatchQuery(text, "text")  # type: ignore[call-arg]
        search = table.search(query, query_type="fts")
        where = where_clause(filters)
        if where:
            search = search.where(where, prefilter=True)
        rows = search.select([*self._result_columns(), "_score"]).limit(top_k).to_list()
        return [_hit(r, float(r["_score"])) for r in rows]

    def ensure_keyword_index(self) -> None:
        """Builds the full-text index on ``text`` (BM25, English stemming, stop words
        removed) when it is missing or rows were written since it was built. Unindexed
        rows are still found (LanceDB scans them), but slowly: the index sync calls this
        after its writes."""
        table = self._existing()
        if table is None:
            return
        if _has_text_index(table):
            stats = table.index_stats(_TEXT_INDEX)
            if stats is not None and stats.num_unindexed_rows == 0:
                return  # nothing written since the last build
        from lancedb.index import FTS

        table.create_index("text", config=FTS(with_position=False), replace=True, name=_TEXT_INDEX)
        self._reader = None

    def _result_columns(self) -> list[str]:
        return [f.name for f in self._schema() if f.name != "vector"]


def _has_text_index(table: Any) -> bool:
    return any(ix.name == _TEXT_INDEX for ix in table.list_indices())


def _hit(row: dict[str, Any], score: float) -> Hit:
    return Hit(
        id=row["id"],
        score=score,
        text=row["text"],
        doc_id=row["doc_id"],
        source=row["source"],
        meta=RowMetadata(**{name: row.get(name) for name in METADATA_FIELDS}),
        metadata={
            "partition_date": row["partition_date"],
            "content_hash": row["content_hash"],
        },
    )
