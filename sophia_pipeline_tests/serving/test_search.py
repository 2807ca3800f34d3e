"""Search on a small real LanceDB index (hash vectors: the legs' mechanics, not the
model's semantics), on Pinecone's adapter, and the request validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore, where_clause
from sophia_pipeline.resources.pinecone_store import PineconeVectorStore
from sophia_pipeline.resources.vector_store import Filters, RowMetadata, VectorRecord
from sophia_pipeline.serving.search import (
    Searcher,
    SearchRequest,
    reciprocal_rank_fusion,
    snippet,
)
from sophia_pipeline_tests.fakes import hash_vector
from sophia_pipeline_tests.pinecone_server import PineconeServer

INJECTION = "x' OR '1'='1"

# (doc, ordinal, source, entity, account, speaker, occurred day, text)
# fmt: off
ROWS = [
    ("gong:call:1", 0, "gong", "call", "acc-1", "Ana", 1, "Clari came up: they use Clari for forecasting"),  # noqa: E501
    ("gong:call:1", 1, "gong", "call", "acc-1", "Ben", 1, "We can do an annual discount on pricing"),  # noqa: E501
    ("gong:call:2", 0, "gong", "call", INJECTION, "Cy", 5, "Security review: SOC 2 report and SSO"),
    ("slack:thread:9", 0, "slack", "thread", None, "Dee", 9, "Pricing question from the Clari deal"),  # noqa: E501
    ("linear:issue:3", 0, "linear", "issue", None, None, 12, "Export of call summaries to CSV fails"),  # noqa: E501
]
# fmt: on


def records() -> list[VectorRecord]:
    return [
        VectorRecord(
            id=f"{doc}#{ordinal}",
            vector=hash_vector(text),
            text=text,
            doc_id=doc,
            source=source,
            content_hash=f"h-{doc}-{ordinal}",
            partition_date=f"2026-09-{day:02d}",
            meta=RowMetadata(
                entity_type=entity,
                doc_kind="conversation",
                title=f"title of {doc}",
                account_id=account,
                speaker=speaker,
                occurred_at=datetime(2026, 9, day, 12),
                url="https://linear.app/x" if source == "linear" else None,
                ordinal=ordinal,
                char_start=0,
                char_end=len(text),
            ),
        )
        for doc, ordinal, source, entity, account, speaker, day, text in ROWS
    ]


@pytest.fixture
def searcher(tmp_path: Path) -> Searcher:
    store = LanceDBVectorStore(uri=str(tmp_path / "lance"))
    store.upsert(records())
    store.ensure_keyword_index()
    return Searcher(store, hash_vector)


def ids(searcher: Searcher, **kw: object) -> list[str]:
    return [h.chunk_id for h in searcher.search(SearchRequest(**kw)).hits]  # type: ignore[arg-type]


def test_keyword_mode_finds_the_term_and_cites_the_row(searcher: Searcher) -> None:
    res = searcher.search(SearchRequest(query="SOC", mode="keyword"))
    assert res.mode == "keyword" and [h.chunk_id for h in res.hits] == ["gong:call:2#0"]
    hit = res.hits[0]
    assert (hit.rank_keyword, hit.rank_semantic) == (1, None)
    assert hit.title == "title of gong:call:2" and hit.speaker == "Cy"
    assert hit.occurred_at == datetime(2026, 9, 5, 12, tzinfo=UTC)
    assert hit.char_end == len(ROWS[2][7])


def test_semantic_mode_ranks_the_exact_text_first(searcher: Searcher) -> None:
    # Hash vectors: only an identical text is near, which is enough to see the leg work.
    res = searcher.search(SearchRequest(query=ROWS[4][7], mode="semantic"))
    assert res.hits[0].chunk_id == "linear:issue:3#0"
    assert res.hits[0].rank_semantic == 1 and res.hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert res.hits[0].url == "https://linear.app/x"


def test_hybrid_fuses_both_legs_and_dedupes_documents(searcher: Searcher) -> None:
    res = searcher.search(SearchRequest(query="Clari pricing"))
    assert res.mode == "hybrid"
    docs = [h.doc_id for h in res.hits]
    assert len(docs) == len(set(docs))  # one chunk per document
    assert {"gong:call:1", "slack:thread:9"} <= set(docs)
    assert all(h.rank_semantic is not None for h in res.hits)  # all 5 rows are in that leg
    assert any(h.rank_keyword is not None for h in res.hits)
    every = ids(searcher, query="Clari pricing", dedupe_documents=False)
    assert {"gong:call:1#0", "gong:call:1#1"} <= set(every)


def test_filters_restrict_every_leg(searcher: Searcher) -> None:
    for mode in ("hybrid", "semantic", "keyword"):
        assert {
            i.split("#")[0] for i in ids(searcher, query="Clari", mode=mode, sources=["slack"])
        } <= {"slack:thread:9"}
        assert ids(searcher, query="pricing", mode=mode, speaker="Ben") == ["gong:call:1#1"]
    in_range = ids(
        searcher, query="pricing", occurred_from="2026-09-02", occurred_to="2026-09-10T00:00:00Z"
    )
    assert {i.split("#")[0] for i in in_range} == {"gong:call:2", "slack:thread:9"}
    assert ids(searcher, query="pricing", entity_types=["issue"]) == ["linear:issue:3#0"]


def test_injection_strings_are_values(searcher: Searcher) -> None:
    # The account id with a quote matches exactly its own row and nothing more.
    assert ids(searcher, query="security", account_id=INJECTION) == ["gong:call:2#0"]
    assert ids(searcher, query="security", account_id="x") == []
    assert ids(searcher, query="security", speaker="' OR 1=1 --") == []
    assert ids(searcher, query=INJECTION, mode="keyword") is not None  # no parse error


def test_where_clause_escapes_every_value() -> None:
    where = where_clause(Filters(sources=("gong", INJECTION), account_id=INJECTION, speaker="a'b"))
    assert where == (
        "source IN ('gong', 'x'' OR ''1''=''1') AND account_id = 'x'' OR ''1''=''1' "
        "AND (speaker = 'a''b' OR author = 'a''b')"
    )
    assert where_clause(Filters()) is None
    with pytest.raises(ValueError, match="NUL"):
        where_clause(Filters(account_id="a\x00b"))


def test_min_score_and_limit(searcher: Searcher) -> None:
    res = searcher.search(SearchRequest(query="Clari pricing", limit=1))
    assert len(res.hits) == 1
    assert ids(searcher, query="Clari pricing", min_score=1.01) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 1_000_000},
        {"query": "q", "limit": 0},
        {"query": "q", "limit": 10_000},
        {"query": "q", "sources": ["nosuch"]},
        {"query": "q", "entity_types": ["call; DROP"]},
        {"query": "q", "occurred_from": "2026-10-01", "occurred_to": "2026-09-01"},
        {"query": "q", "mode": "fuzzy"},
        {"query": "q", "account_id": "a\nb"},
        {"query": "q", "surprise": 1},
    ],
)
def test_bad_requests_are_validation_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SearchRequest(**bad)  # type: ignore[arg-type]


def test_rrf_and_snippet() -> None:
    scores = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61) and scores["c"] == pytest.approx(1 / 62)
    assert max(scores, key=scores.__getitem__) == "b"
    text = "lorem ipsum " * 50 + "the Clari renewal" + " dolor" * 50
    s = snippet(text, "Clari")
    assert "Clari" in s and len(s) <= 242 and s.startswith("…")


@pytest.fixture
def pinecone() -> Iterator[PineconeVectorStore]:
    with PineconeServer(api_key="k") as server:
        store = PineconeVectorStore(api_key="k", index_host=server.url)
        store.upsert(records())
        yield store


def test_pinecone_answers_semantic_and_says_so(pinecone: PineconeVectorStore) -> None:
    searcher = Searcher(pinecone, hash_vector)
    res = searcher.search(SearchRequest(query=ROWS[2][7], mode="keyword"))
    assert res.mode == "semantic" and res.requested_mode == "keyword" and res.note
    assert res.hits[0].chunk_id == "gong:call:2#0"
    assert res.hits[0].account_id == INJECTION and res.hits[0].ordinal == 0
    assert res.hits[0].occurred_at == datetime(2026, 9, 5, 12, tzinfo=UTC)
    # Filters travel as Pinecone filter documents, evaluated by the server.
    only = searcher.search(
        SearchRequest(query="pricing", mode="semantic", sources=["gong"], speaker="Ben")
    )
    assert [h.chunk_id for h in only.hits] == ["gong:call:1#1"]
    ranged = searcher.search(
        SearchRequest(query="pricing", occurred_from="2026-09-06", occurred_to="2026-09-30")
    )
    assert {h.doc_id for h in ranged.hits} == {"slack:thread:9", "linear:issue:3"}


def test_source_names_match_the_registry() -> None:
    """documents.SOURCE_NAMES (what requests are validated against) is the registry."""
    from sophia_pipeline.documents import SOURCE_NAMES
    from sophia_pipeline.sources.registry import SPECS

    assert sorted(SOURCE_NAMES) == sorted(SPECS)


def test_hash_vectors_are_unit() -> None:  # the fixture's premise
    assert np.linalg.norm(hash_vector("x")) == pytest.approx(1.0)
