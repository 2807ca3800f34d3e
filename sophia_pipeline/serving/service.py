"""The read API's one service: every call either door makes, on the stores.

One object per process holds the dependencies (the warehouse opened read-only, the
vector store, the cache, the embedder loaded once and warmed) and answers typed requests
with typed responses (``models.py``). Every dependency call goes through that
dependency's guard (a deadline and a circuit breaker, ``guard.py``); KPI and competitor
reads go through the cache strategies ``executive_kpis`` and ``competitive_data``
(``resources/cache_strategies.py``), so a dashboard polling the same range reads the
warehouse once per TTL.

Dagster plays no part here: the CLI builds this object from the settings
(``dependencies.py``) and hands it to the MCP server or the HTTP app.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from sophia_pipeline.documents import SOURCE_NAMES
from sophia_pipeline.resources.cache import CacheResource, RedisCache
from sophia_pipeline.resources.cache_strategies import (
    COMPETITIVE_DATA,
    EXECUTIVE_KPIS,
    SemanticCache,
    StrategyCache,
)
from sophia_pipeline.resources.llm_gateway import LLMGateway
from sophia_pipeline.resources.vector_store import VectorStore
from sophia_pipeline.store import executive, intelligence, ops, staging
from sophia_pipeline.store.warehouse import Warehouse

from .answer import Answer, answer
from .errors import DependencyUnavailable, InvalidRequest, NotFound
from .guard import Guards
from .models import (
    AccountOverview,
    AccountRequest,
    AnswerRequest,
    CallSummary,
    Citation,
    CompetitorSummary,
    DeadLetter,
    Deal,
    DependencyState,
    KpiRequest,
    KpiResponse,
    KpiRow,
    Mention,
    MentionsRequest,
    MentionsResponse,
    Readiness,
    SentimentTrend,
    SourceInfo,
    SourcesRequest,
    SourcesResponse,
)
from .search import Searcher, SearchRequest, SearchResponse

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

# HubSpot's own ids of the two closed stages; every other stage is open.
CLOSED_STAGES = frozenset({"closedwon", "closedlost"})
# Mean sentiment moving less than this between the halves of the calls is "steady".
TREND_EPSILON = 0.05
ACCOUNT_MENTIONS = 20


class EmbedderLike(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Dependencies:
    warehouse: Warehouse
    vector_store: VectorStore
    cache: CacheResource
    embedder: EmbedderLike
    # The LLM gateway for ``answer`` (unconfigured or None: extractive answers).
    llm: LLMGateway | None = None


class ReadService:
    """The read API over ``deps``. Every request is validated by its model before it gets
    here; what remains to check needs the deployment (the sources it knows)."""

    def __init__(
        self,
        deps: Dependencies,
        *,
        known_sources: Collection[str] = SOURCE_NAMES,
        timeout_s: float = 0.75,
        guards: Guards | None = None,
    ) -> None:
        self.deps = deps
        self.known_sources = frozenset(known_sources)
        redis = deps.cache.redis_url if isinstance(deps.cache.backend, RedisCache) else None
        # Breaker state in Redis only when Redis answered: with no Redis, every breaker
        # call would first wait out a connection timeout to it.
        self.guards = guards or Guards(timeout_s=timeout_s, redis=redis)
        self._embedder_ready = False
        self._embedder_error: str | None = None
        self.searcher = Searcher(deps.vector_store, self.embed_query)

    # --- lifecycle ---------------------------------------------------------------------------

    def warm(self) -> None:
        """Loads the embedding model and runs it once, so the first query does not pay
        for the load and ``/ready`` can say the embedder is ready. Not under the deadline
        (loading takes seconds); a failure is remembered and reported by ``readiness``."""
        if self._embedder_ready:
            return
        try:
            self.deps.embedder.embed(["warm up"])
        except Exception as exc:
            self._embedder_error = f"{exc.__class__.__name__}: {str(exc)[:160]}"
            log.error("embedder failed to load: %s", self._embedder_error)
            return
        self._embedder_ready = True

    def close(self) -> None:
        self.guards.shutdown()

    def embed_query(self, text: str) -> np.ndarray:
        vectors = self.guards["embedder"].call(self.deps.embedder.embed, [text])
        return np.asarray(vectors[0], dtype=np.float32)

    # --- reads -------------------------------------------------------------------------------

    def search(self, req: SearchRequest) -> SearchResponse:
        """Hybrid (or semantic / keyword) search. The whole search runs under the vector
        store's guard, the query's embedding under the embedder's: a dead index fails
        within the deadline, and after a few failures at once (breaker open)."""
        self._check_sources(req.sources or [])
        return self.guards["vector_store"].call(self.searcher.search, req)

    def answer(self, req: AnswerRequest) -> Answer:
        """The question answered from the best hits of a hybrid search (same filters),
        each cited: through the LLM gateway when configured, semantically cached per
        retrieval scope; extractive otherwise."""
        search = SearchRequest(
            query=req.question,
            sources=list(req.sources) or None,
            account_id=req.account_id,
            limit=req.hits,
        )
        hits = self.search(search).hits
        cache = None
        if self.deps.llm is not None and self.deps.llm.configured:
            scope = _key(search.model_copy(update={"query": "-"}))
            cache = SemanticCache(self.deps.cache, self.deps.embedder, namespace=scope)
        return answer(req.question, hits, gateway=self.deps.llm, cache=cache)

    def get_kpis(self, req: KpiRequest) -> KpiResponse:
        end = req.end or self._newest_kpi_day()
        start = req.start or (end - timedelta(days=29) if end is not None else None)
        if start is not None and end is not None and start > end:
            # Only the start was given, after the newest stored day: nothing to return.
            return KpiResponse(start=start, end=end, days=[], latest=None)
        if start is None or end is None:
            return KpiResponse(start=None, end=None, days=[], latest=None)
        key = f"range:{start.isoformat()}:{end.isoformat()}"
        cached = StrategyCache(self.deps.cache, EXECUTIVE_KPIS)
        rows = self._cached(
            cached,
            key,
            lambda: [
                _model(KpiRow, r).model_dump(mode="json")
                for r in _rows(
                    self._warehouse(executive.kpi_rollups_from_to, self.deps.warehouse, start, end)
                )
            ],
        )
        days = [KpiRow.model_validate(r) for r in rows]
        return KpiResponse(start=start, end=end, days=days, latest=days[-1] if days else None)

    def competitor_mentions(self, req: MentionsRequest) -> MentionsResponse:
        self._check_sources(req.sources)
        key = _key(req)
        cached = StrategyCache(self.deps.cache, COMPETITIVE_DATA)
        value = self._cached(cached, key, lambda: self._load_mentions(req).model_dump(mode="json"))
        return MentionsResponse.model_validate(value)

    def _load_mentions(self, req: MentionsRequest) -> MentionsResponse:
        which = intelligence.MentionFilter(
            competitor=req.competitor,
            sources=req.sources,
            since=_day_start(req.start),
            until=_day_start(req.end + timedelta(days=1)) if req.end else None,
            account_id=req.account_id,
        )
        wh = self.deps.warehouse
        df = self._warehouse(lambda: intelligence.find_mentions(wh, which, req.limit))
        # Totals over the whole filter, not over the page of mentions returned.
        totals = self._warehouse(lambda: intelligence.mention_summary(wh, which))
        return MentionsResponse(
            competitors=[_model(CompetitorSummary, r) for r in _rows(totals)],
            mentions=[_model(Mention, r) for r in _rows(df)],
        )

    def account_overview(self, req: AccountRequest) -> AccountOverview:
        wh = self.deps.warehouse
        company = self._warehouse(staging.account_company, wh, req.account_id)
        name = None if company.empty else _opt_str(company["title"].iloc[0])
        if (
            company.empty
            and self._warehouse(staging.account_document_count, wh, req.account_id) == 0
        ):
            raise NotFound(f"no account {req.account_id!r}")
        calls = [
            CallSummary(
                call_id=str(r["call_id"]),
                doc_id=str(r["doc_id"]),
                title=_opt_str(r["title"]),
                started_at=r["started_at"],
                duration_s=_opt_int(r["duration_s"]),
                deal_id=_opt_str(r["deal_id"]),
                sentiment=_opt_float(r["sentiment_score"]),
                outcome=_opt_str(r["outcome_category"]),
            )
            for r in _rows(
                self._warehouse(intelligence.account_calls, wh, req.account_id, req.calls)
            )
        ]
        mentions = [
            _model(Mention, r)
            for r in _rows(
                self._warehouse(
                    lambda: intelligence.find_mentions(
                        wh, intelligence.MentionFilter(account_id=req.account_id), ACCOUNT_MENTIONS
                    )
                )
            )
        ]
        return AccountOverview(
            account_id=req.account_id,
            name=name,
            calls=calls,
            sentiment_trend=sentiment_trend([c.sentiment for c in calls]),
            open_deals=open_deals(
                _rows(self._warehouse(staging.account_deals, wh, req.account_id))
            ),
            competitor_mentions=mentions,
            competitors=summarize(mentions),
            relevant_chunks=self._account_chunks(req, name),
        )

    def _account_chunks(self, req: AccountRequest, name: str | None) -> list[Citation]:
        """The account's chunks nearest the query, each checked against the warehouse to
        belong to the account (the index's account filter is trusted, and verified)."""
        query = req.query or name or req.account_id
        hits = self._search_account(query, req.account_id, req.chunks)
        owners = self._warehouse(
            staging.chunk_accounts, self.deps.warehouse, [h.chunk_id for h in hits]
        )
        return [h for h in hits if owners.get(h.chunk_id) == req.account_id]

    def _search_account(self, query: str, account_id: str, limit: int) -> list[Citation]:
        # The query is the caller's (or the account's name): cut to what search takes.
        found = self.search(SearchRequest(query=query[:1000], account_id=account_id, limit=limit))
        return [
            Citation(
                chunk_id=h.chunk_id,
                doc_id=h.doc_id,
                source=h.source,
                title=h.title,
                snippet=h.snippet,
                score=h.score,
                occurred_at=h.occurred_at,
                link=h.url,
            )
            for h in found.hits
        ]

    def list_sources(self, req: SourcesRequest | None = None) -> SourcesResponse:
        wh = self.deps.warehouse
        docs = {r["source"]: r for r in _rows(self._warehouse(staging.documents_per_source, wh))}
        chunks = {r["source"]: r for r in _rows(self._warehouse(staging.chunks_per_source, wh))}
        vectors = {r["source"]: r for r in _rows(self._warehouse(ops.vectors_per_source, wh))}
        infos = []
        for source in sorted(self.known_sources | set(docs)):
            d, c, v = docs.get(source, {}), chunks.get(source, {}), vectors.get(source, {})
            newest = [t for t in (d.get("newest_occurred_at"), d.get("newest_updated_at")) if t]
            infos.append(
                SourceInfo(
                    source=source,
                    documents=int(d.get("documents") or 0),
                    deleted_documents=int(d.get("deleted") or 0),
                    chunks=int(c.get("chunks") or 0),
                    vectors=int(v.get("vectors") or 0),
                    newest_record_at=max(newest) if newest else None,
                    newest_partition=_opt_date(d.get("newest_partition")),
                    last_indexed_at=v.get("last_indexed_at"),
                )
            )
        try:
            index_vectors: int | None = self.guards["vector_store"].call(
                self.deps.vector_store.count
            )
        except DependencyUnavailable as exc:
            log.warning("list_sources without the index's own count: %s", exc)
            index_vectors = None
        return SourcesResponse(sources=infos, index_vectors=index_vectors)

    # --- dead letters (the CLI) ------------------------------------------------------------

    def dead_letters(self, source: str | None = None, limit: int = 50) -> list[DeadLetter]:
        if source is not None:
            self._check_sources([source])
        df = self._warehouse(ops.list_dead_letters, self.deps.warehouse, source, limit)
        return [_model(DeadLetter, r) for r in _rows(df)]

    def dead_letter(self, dead_letter_id: str) -> DeadLetter:
        rows = _rows(self._warehouse(ops.dead_letter, self.deps.warehouse, dead_letter_id))
        if not rows:
            raise NotFound(f"no dead letter {dead_letter_id!r}")
        return _model(DeadLetter, rows[0])

    # --- health ------------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        """Each dependency probed through its guard (so a dead one answers fast once its
        breaker is open). Unhealthy: the warehouse is down or the embedder is not loaded
        (nothing useful can be answered); degraded: the vector store or Redis is down
        (search fails, KPIs and mentions still answer)."""
        states = [
            self._probe(
                "warehouse",
                lambda: executive.kpi_rows_per_day(
                    self.deps.warehouse, date(1970, 1, 1), date(1970, 1, 2)
                ),
                "read-only queries answer",
            ),
            self._probe("vector_store", self.deps.vector_store.count, "reachable"),
            self._cache_state(),
            self._embedder_state(),
        ]
        by_name = {s.name: s.state for s in states}
        status: Literal["healthy", "degraded", "unhealthy"]
        if by_name["warehouse"] != "up" or by_name["embedder"] != "up":
            status = "unhealthy"
        elif all(s.state == "up" for s in states):
            status = "healthy"
        else:
            status = "degraded"
        return Readiness(status=status, dependencies=states)

    def _probe(self, name: str, fn: Callable[[], object], ok: str) -> DependencyState:
        try:
            self.guards[name].call(fn)
        except DependencyUnavailable as exc:
            return DependencyState(name=name, state="down", detail=exc.reason)  # type: ignore[arg-type]
        return DependencyState(name=name, state="up", detail=ok)  # type: ignore[arg-type]

    def _cache_state(self) -> DependencyState:
        backend = self.deps.cache.backend
        if isinstance(backend, RedisCache):
            try:
                self.guards["cache"].call(backend.ping)
            except DependencyUnavailable as exc:
                # Reads still answer (a cache failure is a miss), only slower.
                return DependencyState(name="cache", state="down", detail=f"redis: {exc.reason}")
            return DependencyState(name="cache", state="up", detail="redis")
        return DependencyState(name="cache", state="up", detail="in-process (no Redis)")

    def _embedder_state(self) -> DependencyState:
        if self._embedder_ready:
            return DependencyState(name="embedder", state="up", detail="model loaded and warm")
        if self._embedder_error is not None:
            return DependencyState(name="embedder", state="down", detail=self._embedder_error)
        return DependencyState(name="embedder", state="starting", detail="model loading")

    # --- helpers -----------------------------------------------------------------------------

    def _warehouse(self, fn: Callable[..., pd.DataFrame | Any], *args: Any) -> Any:
        return self.guards["warehouse"].call(fn, *args)

    def _newest_kpi_day(self) -> date | None:
        return self._warehouse(executive.newest_kpi_day, self.deps.warehouse)  # type: ignore[no-any-return]

    def _cached(self, cache: StrategyCache, key: str, load: Callable[[], Any]) -> Any:
        """Read-through the strategy's cache. The cache answers under its own guard: a
        slow Redis is skipped (a miss), never waited for past the deadline."""
        try:
            hit = self.guards["cache"].call(cache.get, key)
        except DependencyUnavailable as exc:
            log.warning("cache skipped: %s", exc)
            return load()
        if hit is not None:
            return hit
        value = load()
        try:
            self.guards["cache"].call(cache.put, key, value)
        except DependencyUnavailable as exc:
            log.warning("cache not written: %s", exc)
        return value

    def _check_sources(self, sources: Collection[str]) -> None:
        unknown = sorted(set(sources) - self.known_sources)
        if unknown:
            raise InvalidRequest(
                "sources",
                f"unknown source(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(self.known_sources))}",
            )


# --- pure helpers (tested on their own) ------------------------------------------------------


def summarize(mentions: list[Mention]) -> list[CompetitorSummary]:
    """Per competitor: mentions, highest and mean threat, last mention; most mentioned
    first."""
    by: dict[str, list[Mention]] = {}
    for m in mentions:
        by.setdefault(m.competitor, []).append(m)
    out = [
        CompetitorSummary(
            competitor=name,
            mentions=len(ms),
            max_threat=max(m.threat_level for m in ms),
            avg_threat=round(sum(m.threat_level for m in ms) / len(ms), 3),
            last_mentioned_at=max(m.mentioned_at for m in ms),
        )
        for name, ms in by.items()
    ]
    return sorted(out, key=lambda s: (-s.mentions, s.competitor))


def sentiment_trend(newest_first: list[float | None]) -> SentimentTrend:
    """Older half against newer half of the calls' sentiment (calls newest first)."""
    scores = [s for s in reversed(newest_first) if s is not None]
    if len(scores) < 2:
        return SentimentTrend(direction="unknown", earlier=None, recent=None, calls=len(scores))
    half = len(scores) // 2
    earlier = sum(scores[:half]) / half
    recent = sum(scores[half:]) / (len(scores) - half)
    delta = recent - earlier
    direction: Literal["improving", "declining", "steady"] = (
        "steady" if abs(delta) < TREND_EPSILON else ("improving" if delta > 0 else "declining")
    )
    return SentimentTrend(
        direction=direction, earlier=round(earlier, 4), recent=round(recent, 4), calls=len(scores)
    )


def open_deals(rows: list[dict[str, Any]]) -> list[Deal]:
    deals = []
    for r in rows:
        try:
            attrs = json.loads(r.get("attributes") or "{}")
        except ValueError:
            attrs = {}
        if not isinstance(attrs, dict):
            attrs = {}
        stage = _opt_str(attrs.get("dealstage"))
        if stage in CLOSED_STAGES:
            continue
        deals.append(
            Deal(
                deal_id=str(r["source_id"]),
                name=_opt_str(r.get("title")),
                stage=stage,
                amount=_opt_float(attrs.get("amount")),
                close_date=_opt_str(attrs.get("closedate")),
                created_at=r["occurred_at"],
            )
        )
    return deals


def _key(req: BaseModel) -> str:
    """A cache key of the whole request (every field, canonical JSON)."""
    canonical = json.dumps(req.model_dump(mode="json"), sort_keys=True)
    return f"{type(req).__name__}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def _rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values: NaN/NaT as None, timestamps as datetimes."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in df.to_dict("records")]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _model(cls: type[M], row: dict[str, Any]) -> M:
    return cls.model_validate({k: row[k] for k in cls.model_fields if k in row})


def _opt_str(v: Any) -> str | None:
    v = _plain(v)
    return None if v is None else str(v)


def _opt_int(v: Any) -> int | None:
    v = _plain(v)
    return None if v is None else int(v)


def _opt_float(v: Any) -> float | None:
    v = _plain(v)
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _opt_date(v: Any) -> date | None:
    v = _plain(v)
    if v is None:
        return None
    return v.date() if isinstance(v, datetime) else v  # type: ignore[no-any-return]


def _day_start(d: date | None) -> datetime | None:
    return None if d is None else datetime.combine(d, time())
