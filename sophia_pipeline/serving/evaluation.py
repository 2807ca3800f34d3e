"""Retrieval quality on a labelled query set: hit@1, hit@5 and MRR@10 of a search mode.

A query is answered at rank r when the r-th distinct document returned is one of its
relevant documents (searches deduplicate to one chunk per document).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .search import Mode, Searcher, SearchRequest

DEPTH = 10  # MRR@10


@dataclass(frozen=True)
class LabelledQuery:
    query_id: str
    query: str
    kind: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class Scores:
    mode: str
    queries: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float


def load_queries(path: Path) -> list[LabelledQuery]:
    """The ``queries.jsonl`` the sample generator writes."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            relevant = frozenset(r["relevant"])
            out.append(LabelledQuery(r["query_id"], r["query"], r["kind"], relevant))
    return out


def first_relevant_rank(doc_ids: Sequence[str], relevant: frozenset[str]) -> int | None:
    """1-based rank of the first relevant document, or ``None``."""
    return next((i for i, d in enumerate(doc_ids, start=1) if d in relevant), None)


def summarize(mode: str, ranks: Sequence[int | None]) -> Scores:
    n = len(ranks)
    if n == 0:
        raise ValueError("no queries")
    return Scores(
        mode=mode,
        queries=n,
        hit_at_1=sum(1 for r in ranks if r == 1) / n,
        hit_at_5=sum(1 for r in ranks if r is not None and r <= 5) / n,
        mrr_at_10=sum(1.0 / r for r in ranks if r is not None and r <= DEPTH) / n,
    )


def evaluate(searcher: Searcher, queries: Sequence[LabelledQuery], mode: Mode) -> Scores:
    ranks = []
    for q in queries:
        response = searcher.search(SearchRequest(query=q.query, mode=mode, limit=DEPTH))
        ranks.append(first_relevant_rank([h.doc_id for h in response.hits], q.relevant))
    return summarize(mode, ranks)
