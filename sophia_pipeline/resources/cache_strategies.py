"""How each kind of data is cached, on top of the cache resource (Redis | in-process).

| data             | TTL    | refresh                                                     |
|------------------|--------|-------------------------------------------------------------|
| executive_kpis   | 300 s  | eager: re-warmed in a run after every kpis/rollups change   |
| gong_summaries   | 1800 s | lazy: filled from the warehouse on a miss                   |
| competitive_data | 3600 s | eager: re-warmed in a run after competitor mentions change  |
| llm_responses    | 7200 s | semantic: a question close enough to a cached one reuses it |

Eager entries are also read-through (a miss between warm-ups loads and stores), so the
TTL is an upper bound on staleness either way; eager only means nobody waits for the
first read after new data. Values are JSON under ``<type>:<key>``.

A cache failure never fails a read: the cache resource turns Redis errors into misses
with a logged warning, an undecodable entry is a miss, and the value then comes from the
source (the warehouse, or the caller's function for LLM answers).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from sophia_pipeline.processing.frames import records
from sophia_pipeline.store import executive, intelligence
from sophia_pipeline.store.warehouse import Warehouse

from .cache import CacheResource

log = logging.getLogger(__name__)

T = TypeVar("T")


class Refresh(StrEnum):
    EAGER = "eager"
    LAZY = "lazy"
    SEMANTIC = "semantic"


@dataclass(frozen=True)
class CachePolicy:
    name: str
    ttl_s: float
    refresh: Refresh


EXECUTIVE_KPIS = CachePolicy("executive_kpis", 300, Refresh.EAGER)
GONG_SUMMARIES = CachePolicy("gong_summaries", 1800, Refresh.LAZY)
COMPETITIVE_DATA = CachePolicy("competitive_data", 3600, Refresh.EAGER)
LLM_RESPONSES = CachePolicy("llm_responses", 7200, Refresh.SEMANTIC)
POLICIES: dict[str, CachePolicy] = {
    p.name: p for p in (EXECUTIVE_KPIS, GONG_SUMMARIES, COMPETITIVE_DATA, LLM_RESPONSES)
}


class StrategyCache:
    """JSON values of one data type, stored with that type's TTL."""

    def __init__(self, cache: CacheResource, policy: CachePolicy) -> None:
        self.cache = cache
        self.policy = policy

    def key(self, key: str) -> str:
        return f"{self.policy.name}:{key}"

    def get(self, key: str) -> Any | None:
        raw = self.cache.get(self.key(key))
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            log.warning("cache entry %s is not JSON (%s); reading the source", self.key(key), exc)
            return None

    def put(self, key: str, value: Any) -> None:
        payload = json.dumps(value, default=_jsonable, sort_keys=True).encode()
        self.cache.set(self.key(key), payload, self.policy.ttl_s)

    def read(self, key: str, load: Callable[[], T]) -> T:
        """The cached value, else ``load()`` from the source, stored for next time."""
        hit = self.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        value = load()
        if value is not None:
            self.put(key, value)
        return value

    def warm(self, key: str, load: Callable[[], T]) -> T:
        """Eager refresh: load from the source now and replace the entry."""
        value = load()
        self.put(key, value)
        return value

    def is_cached(self, key: str) -> bool:
        return self.cache.get(self.key(key)) is not None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-able dicts, NaN as null."""
    clean = df.astype(object).where(pd.notna(df), None)
    return [{k: _jsonable_or_self(v) for k, v in r.items()} for r in records(clean)]


def _jsonable_or_self(value: Any) -> Any:
    try:
        return _jsonable(value)
    except TypeError:
        return value


def _today() -> date:
    return datetime.now(UTC).date()


# --- executive KPIs (eager) ------------------------------------------------------------

EXECUTIVE_KPIS_KEY = "latest"


def load_executive_kpis(warehouse: Warehouse, days: int = 30) -> dict[str, Any]:
    """The newest KPI row and the series of the ``days`` before it."""
    df = executive.kpi_rollups_up_to(warehouse, _today()).head(days).sort_values("kpi_date")
    if len(df):
        df = df.assign(kpi_date=pd.to_datetime(df["kpi_date"]).dt.date)
    rows = _records(df.drop(columns=["computed_at"], errors="ignore"))
    return {
        "as_of": rows[-1]["kpi_date"] if rows else None,
        "latest": rows[-1] if rows else None,
        "series": rows,
    }


def executive_kpis(cache: CacheResource, warehouse: Warehouse) -> dict[str, Any]:
    return StrategyCache(cache, EXECUTIVE_KPIS).read(
        EXECUTIVE_KPIS_KEY, lambda: load_executive_kpis(warehouse)
    )


def warm_executive_kpis(cache: CacheResource, warehouse: Warehouse) -> dict[str, Any]:
    return StrategyCache(cache, EXECUTIVE_KPIS).warm(
        EXECUTIVE_KPIS_KEY, lambda: load_executive_kpis(warehouse)
    )


# --- competitive data (eager) ----------------------------------------------------------

COMPETITIVE_DATA_KEY = "last_30_days"


def load_competitive_data(warehouse: Warehouse, days: int = 30) -> dict[str, Any]:
    """Per competitor over the last ``days`` days: mentions, highest and mean threat,
    mean sentiment, last mention; and the per-day counts behind the trend chart."""
    since = _today() - timedelta(days=days - 1)
    return {
        "since": since.isoformat(),
        "competitors": _records(intelligence.competitor_totals_since(warehouse, since)),
        "daily": _records(intelligence.competitor_days_since(warehouse, since)),
    }


def competitive_data(cache: CacheResource, warehouse: Warehouse) -> dict[str, Any]:
    return StrategyCache(cache, COMPETITIVE_DATA).read(
        COMPETITIVE_DATA_KEY, lambda: load_competitive_data(warehouse)
    )


def warm_competitive_data(cache: CacheResource, warehouse: Warehouse) -> dict[str, Any]:
    return StrategyCache(cache, COMPETITIVE_DATA).warm(
        COMPETITIVE_DATA_KEY, lambda: load_competitive_data(warehouse)
    )


# --- Gong call summaries (lazy) --------------------------------------------------------


def load_gong_summary(warehouse: Warehouse, call_id: str) -> dict[str, Any] | None:
    """One call's summary: who, when, how it went, competitors and talking points."""
    df = intelligence.call_summary(warehouse, call_id)
    if df.empty:
        return None
    row = _records(df)[0]
    mentions = _json_list(row.pop("competitive_mentions"))
    row["competitors"] = sorted({str(m.get("competitor")) for m in mentions if isinstance(m, dict)})
    row["talking_points_used"] = _json_list(row["talking_points_used"])
    return row


def _json_list(raw: Any) -> list[Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def gong_summary(cache: CacheResource, warehouse: Warehouse, call_id: str) -> dict[str, Any] | None:
    """Lazy: only a miss reads the warehouse; a call that does not exist is not cached."""
    return StrategyCache(cache, GONG_SUMMARIES).read(
        call_id, lambda: load_gong_summary(warehouse, call_id)
    )


# --- LLM responses (semantic) ----------------------------------------------------------


class EmbedderLike(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SemanticHit:
    answer: Any
    question: str  # the cached question that matched
    distance: float  # cosine distance to it


# all-MiniLM-L6-v2 puts paraphrases ("What was our revenue last month?" / "How much
# revenue did we make last month?") about 0.07 apart, but "... this quarter?" only 0.16
# from "... last month?": a different question with a different answer. 0.10 keeps the
# first and refuses the second.
DEFAULT_MAX_DISTANCE = 0.10


class SemanticCache:
    """LLM answers reused for questions that mean the same.

    Each answer is an entry ``llm_responses:answer:<id>``; an index entry
    (``llm_responses:index``) holds the cached questions' embeddings (float32, base64),
    newest last, at most ``max_entries``. A lookup embeds the question and takes the
    nearest cached one by cosine distance; within ``max_distance`` its answer is reused.
    Only get/set are needed, so it works on Redis and on the in-process fallback alike.
    A ``namespace`` keeps separate indexes (``llm_responses:<namespace>:...``) for answers
    that must not be shared, e.g. the same question asked of different filters.
    Concurrent writers can drop each other's index update (read-modify-write): that
    loses a cache entry, never correctness.
    """

    INDEX_KEY = "index"

    def __init__(
        self,
        cache: CacheResource,
        embedder: EmbedderLike,
        max_distance: float = DEFAULT_MAX_DISTANCE,
        max_entries: int = 256,
        namespace: str = "",
    ) -> None:
        self.store_ = StrategyCache(cache, LLM_RESPONSES)
        self.prefix = f"{namespace}:" if namespace else ""
        self.embedder = embedder
        self.max_distance = max_distance
        self.max_entries = max_entries

    @staticmethod
    def question_id(question: str) -> str:
        normalized = " ".join(question.lower().split())
        return hashlib.sha256(normalized.encode()).hexdigest()[:24]

    def _embed(self, question: str) -> np.ndarray | None:
        try:
            vector = np.asarray(self.embedder.embed([question])[0], dtype=np.float32)
        except Exception as exc:
            log.warning("embedding the question failed (%s); no semantic cache", exc)
            return None
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def _index(self) -> list[dict[str, str]]:
        index = self.store_.get(self.prefix + self.INDEX_KEY)
        return index if isinstance(index, list) else []

    def lookup(self, question: str, vector: np.ndarray | None = None) -> SemanticHit | None:
        vector = self._embed(question) if vector is None else vector
        index = self._index()
        if vector is None or not index:
            return None
        try:
            matrix = np.stack(
                [np.frombuffer(base64.b64decode(e["vec"]), dtype=np.float32) for e in index]
            )
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("semantic index unreadable (%s); treating as empty", exc)
            return None
        if matrix.shape[1] != vector.shape[0]:
            return None  # another model's vectors: not comparable
        distances = 1.0 - matrix @ vector
        for i in np.argsort(distances):
            if distances[i] > self.max_distance:
                break
            entry = self.store_.get(f"{self.prefix}answer:{index[i]['id']}")
            if entry is not None:  # an expired answer falls through to the next nearest
                return SemanticHit(entry["answer"], entry["question"], float(distances[i]))
        return None

    def store(self, question: str, answer: Any, vector: np.ndarray | None = None) -> None:
        vector = self._embed(question) if vector is None else vector
        if vector is None:
            return
        qid = self.question_id(question)
        self.store_.put(f"{self.prefix}answer:{qid}", {"question": question, "answer": answer})
        index = [e for e in self._index() if e.get("id") != qid]
        index.append(
            {"id": qid, "vec": base64.b64encode(vector.astype(np.float32).tobytes()).decode()}
        )
        self.store_.put(self.prefix + self.INDEX_KEY, index[-self.max_entries :])

    def answer(self, question: str, compute: Callable[[str], Any]) -> tuple[Any, bool]:
        """(answer, came from the cache). ``compute`` runs only on a miss."""
        vector = self._embed(question)
        hit = self.lookup(question, vector) if vector is not None else None
        if hit is not None:
            return hit.answer, True
        value = compute(question)
        if vector is not None:
            self.store(question, value, vector)
        return value, False
