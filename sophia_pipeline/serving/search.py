"""Hybrid search over the vector index: a keyword leg (LanceDB's native BM25 full-text
index) and a semantic leg (cosine over the embeddings), fused by reciprocal rank fusion,
deduplicated to the best chunk per document.

Pure of Dagster: a :class:`Searcher` takes a vector store and a function that embeds the
query, so the HTTP service, the MCP server and the CLI share one implementation.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sophia_pipeline.documents import SourceName
from sophia_pipeline.resources.vector_store import Filters, Hit, VectorStore

Mode = Literal["hybrid", "semantic", "keyword"]

MAX_QUERY_CHARS = 2_000  # a question, not a document: longer input is a client error
MAX_LIMIT = 50
# Each leg returns this many candidates per requested hit (at least OVERSAMPLE_MIN): the
# fused order and the per-document dedup need more than ``limit`` rows to choose from.
OVERSAMPLE_FACTOR = 5
OVERSAMPLE_MIN = 50
# Reciprocal rank fusion: score = sum over legs of 1 / (RRF_K + rank). BM25 scores are
# unbounded and depend on the corpus and query length, cosine similarities sit in a
# narrow band near 0.2-0.7 for this model: adding or min-max-scaling them lets whichever
# leg has the wider spread on this query decide. RRF uses only ranks, so it needs no
# calibration and no per-query normalisation; k=60 (Cormack et al., 2009, and the
# default in Elasticsearch, OpenSearch and LanceDB's own reranker) keeps a single
# first place in one leg from outweighing solid agreement between both.
RRF_K = 60
SNIPPET_CHARS = 240

_IDENTIFIER = r"^[a-z][a-z0-9_]{0,39}$"
_WORD = re.compile(r"\w{3,}", re.UNICODE)


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


class SearchRequest(BaseModel):
    """A search over the index. Dates are compared as UTC (a value without an offset is
    taken as UTC); both ends of the range are inclusive."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    mode: Mode = "hybrid"
    sources: list[SourceName] | None = Field(default=None, max_length=20)
    entity_types: list[str] | None = Field(default=None, max_length=20)
    account_id: str | None = Field(default=None, min_length=1, max_length=200)
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    speaker: str | None = Field(
        default=None, min_length=1, max_length=200, description="speaker or author"
    )
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    min_score: float | None = Field(
        default=None, description="drop hits scoring below this (the mode's own score)"
    )
    dedupe_documents: bool = Field(
        default=True, description="keep only the best chunk of each document"
    )

    @field_validator("query")
    @classmethod
    def _has_words(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("query is blank")
        return v

    @field_validator("entity_types")
    @classmethod
    def _entity_names(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            if not re.match(_IDENTIFIER, name):
                raise ValueError(f"not an entity type name: {name[:50]!r}")
        return v

    @field_validator("account_id", "speaker")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        if v is not None and any(ord(c) < 32 for c in v):
            raise ValueError("control characters are not allowed")
        return v

    @model_validator(mode="after")
    def _range_in_order(self) -> Self:
        lo, hi = _naive_utc(self.occurred_from), _naive_utc(self.occurred_to)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("occurred_from is after occurred_to")
        return self

    def filters(self) -> Filters:
        return Filters(
            sources=tuple(self.sources or ()),
            entity_types=tuple(self.entity_types or ()),
            account_id=self.account_id,
            occurred_from=_naive_utc(self.occurred_from),
            occurred_to=_naive_utc(self.occurred_to),
            speaker=self.speaker,
        )


class SearchHit(BaseModel):
    """One retrieved chunk with what is needed to cite it."""

    chunk_id: str
    doc_id: str
    source: str
    title: str | None
    snippet: str
    score: float = Field(
        description="hybrid: reciprocal-rank-fusion score scaled so that first in every "
        "leg is 1.0; semantic: cosine similarity; keyword: BM25"
    )
    rank_semantic: int | None = Field(description="1-based rank in the semantic leg")
    rank_keyword: int | None = Field(description="1-based rank in the keyword leg")
    entity_type: str | None = None
    doc_kind: str | None = None
    account_id: str | None = None
    deal_id: str | None = None
    speaker: str | None = None
    author: str | None = None
    occurred_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None
    ordinal: int | None = None
    char_start: int | None = None
    char_end: int | None = None

    @field_validator("occurred_at", "updated_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        # The index stores UTC without an offset; RFC 3339 (OpenAPI's date-time) needs one.
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v


class SearchResponse(BaseModel):
    mode: Mode = Field(description="the mode actually used")
    requested_mode: Mode
    hits: list[SearchHit]
    took_ms: float
    note: str | None = Field(default=None, description="why the mode differs, if it does")


def reciprocal_rank_fusion(legs: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """``key -> sum over legs of 1 / (k + rank)`` (ranks from 1); a key absent from a leg
    gets nothing from it."""
    scores: dict[str, float] = {}
    for leg in legs:
        for rank, key in enumerate(leg, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


def first_per_document(hits: Sequence[Hit]) -> list[Hit]:
    """``hits`` in order, keeping each document's first (best) chunk only."""
    seen: set[str] = set()
    out = []
    for h in hits:
        if h.doc_id not in seen:
            seen.add(h.doc_id)
            out.append(h)
    return out


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """At most ``width`` characters of ``text``, centred on the first query word it
    contains (the start of the text when none)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    positions = [p for w in _WORD.findall(query.lower()) if (p := lowered.find(w)) >= 0]
    start = max(0, min(positions) - width // 3) if positions else 0
    start = min(start, len(flat) - width)
    body = flat[start : start + width]
    return ("…" if start > 0 else "") + body + ("…" if start + width < len(flat) else "")


class Searcher:
    """Runs :class:`SearchRequest` against a vector store. ``embed_query`` turns the query
    into a vector of the store's dimension (the same model the index was built with)."""

    def __init__(self, vector_store: VectorStore, embed_query: Callable[[str], np.ndarray]) -> None:
        self.store = vector_store
        self.embed_query = embed_query

    def search(self, req: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        mode: Mode = req.mode
        note = None
        if mode != "semantic" and not self.store.supports_keyword:
            mode = "semantic"
            note = f"{type(self.store).__name__} has no keyword index: semantic search only"
        depth = max(OVERSAMPLE_FACTOR * req.limit, OVERSAMPLE_MIN)
        filters = req.filters()
        semantic: list[Hit] = []
        keyword: list[Hit] = []
        if mode in ("hybrid", "semantic"):
            vector = np.asarray(self.embed_query(req.query), dtype=np.float32)
            semantic = self.store.query(vector, depth, filters)
        if mode in ("hybrid", "keyword"):
            keyword = self.store.keyword(req.query, depth, filters)
        ranked = _rank(mode, semantic, keyword, req.dedupe_documents)
        sem_rank = {h.id: i for i, h in enumerate(semantic, start=1)}
        kw_rank = {h.id: i for i, h in enumerate(keyword, start=1)}
        hits = [
            _search_hit(h, score, req.query, sem_rank.get(h.id), kw_rank.get(h.id))
            for h, score in ranked
            if req.min_score is None or score >= req.min_score
        ][: req.limit]
        return SearchResponse(
            mode=mode,
            requested_mode=req.mode,
            hits=hits,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            note=note,
        )


def _rank(
    mode: Mode, semantic: list[Hit], keyword: list[Hit], dedupe: bool
) -> list[tuple[Hit, float]]:
    """Hits best first with their score in ``mode``."""
    if mode != "hybrid":
        leg = semantic if mode == "semantic" else keyword
        kept = first_per_document(leg) if dedupe else leg
        return [(h, h.score) for h in kept]
    by_id = {h.id: h for h in [*keyword, *semantic]}
    chunk_scores = reciprocal_rank_fusion([[h.id for h in semantic], [h.id for h in keyword]])
    best = 2.0 / (RRF_K + 1)  # first in both legs
    if not dedupe:
        order = sorted(chunk_scores, key=lambda cid: (-chunk_scores[cid], cid))
        return [(by_id[cid], chunk_scores[cid] / best) for cid in order]
    # Fuse documents, not chunks: a document whose best chunk leads one leg and another
    # chunk leads the other is one strong document, not two middling chunks. Each leg
    # ranks documents by their best chunk; the document is shown by its best fused chunk.
    doc_scores = reciprocal_rank_fusion(
        [
            [h.doc_id for h in first_per_document(semantic)],
            [h.doc_id for h in first_per_document(keyword)],
        ]
    )
    best_chunk: dict[str, str] = {}
    for cid in sorted(chunk_scores, key=lambda c: (-chunk_scores[c], c)):
        best_chunk.setdefault(by_id[cid].doc_id, cid)
    order = sorted(doc_scores, key=lambda d: (-doc_scores[d], d))
    return [(by_id[best_chunk[d]], doc_scores[d] / best) for d in order]


def _search_hit(
    hit: Hit, score: float, query: str, rank_semantic: int | None, rank_keyword: int | None
) -> SearchHit:
    return SearchHit(
        chunk_id=hit.id,
        doc_id=hit.doc_id,
        source=hit.source,
        snippet=snippet(hit.text, query),
        score=round(score, 6),
        rank_semantic=rank_semantic,
        rank_keyword=rank_keyword,
        **hit.meta.as_dict(),
    )
