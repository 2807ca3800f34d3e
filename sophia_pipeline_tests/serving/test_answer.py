"""``serving/answer.py``: extractive answers offline, LLM answers through a local
chat-completions server, and paraphrases served from the semantic cache (acceptance 6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from pytest_httpserver import HTTPServer

from sophia_pipeline.resources.cache import CacheResource, InProcessTTLCache
from sophia_pipeline.resources.cache_strategies import SemanticCache
from sophia_pipeline.resources.llm_gateway import LLMGateway
from sophia_pipeline.serving import answer as answering
from sophia_pipeline.store import executive
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.llm_server import serve_chat


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    doc_id: str
    title: str | None
    source: str
    score: float
    snippet: str


HITS = [
    Hit(
        "gong:call:C1#0",
        "gong:call:C1",
        "Acme discovery call",
        "gong",
        0.91,
        "Prospect: We're using Clari today, and the reps don't love it. "
        "Rep: Compared with Clari, we focus much more on coaching.",
    ),
    Hit(
        "linear:issue:L7#0",
        "linear:issue:L7",
        "Forecast export fails",
        "linear",
        0.55,
        "The weekly forecast export to CSV fails for accounts with more than 500 deals. "
        "Sounds good.",
    ),
    Hit(
        "gong:call:C2#3",
        "gong:call:C2",
        "Globex pricing call",
        "gong",
        0.52,
        "Prospect: To be honest, the price is higher than what we budgeted. "
        "Our CFO is going to push back on the per-seat cost.",
    ),
]


def test_extractive_answer_cites_the_sentences_it_quotes() -> None:
    result = answering.answer("What did Globex say about the price and cost?", HITS)
    assert result.mode == "extractive" and result.model is None and not result.cached
    assert "the price is higher than what we budgeted. [1]" in result.text
    assert [c.doc_id for c in result.citations] == ["gong:call:C2"]
    assert result.citations[0].n == 1 and result.citations[0].chunk_id == "gong:call:C2#3"
    # Filler never makes it into an answer.
    assert "Sounds good" not in result.text


def test_extractive_answer_numbers_several_sources_in_reading_order() -> None:
    result = answering.answer("What are they using today, and what fails in the export?", HITS)
    by_n = {c.n: c.doc_id for c in result.citations}
    assert by_n == {1: "gong:call:C1", 2: "linear:issue:L7"}
    assert result.text.index("[1]") < result.text.index("[2]")


def test_extractive_answer_without_hits_or_overlap_says_so() -> None:
    assert answering.answer("Anything?", []).text == answering.NO_HITS
    result = answering.answer("zebra migration patterns", HITS)
    assert result.text.startswith("No passage answers this directly")
    assert [c.doc_id for c in result.citations] == ["gong:call:C1"]


def test_an_unconfigured_gateway_means_extractive_and_no_network(httpserver: HTTPServer) -> None:
    gw = LLMGateway(base_url=httpserver.url_for("/v1"))  # no key
    result = answering.answer("What did Globex say about the price?", HITS, gateway=gw)
    assert result.mode == "extractive" and len(httpserver.log) == 0


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    wh.ensure_schema()
    return wh


def usage_rows(wh: DuckDBWarehouse):  # type: ignore[no-untyped-def]
    day = now_utc().date()
    return executive.llm_calls_between(wh, day, day + timedelta(days=1))


def test_llm_answer_cites_what_the_model_cited(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    chat = serve_chat(
        httpserver, lambda m: "Globex finds the price above budget [3], unlike Acme [1]."
    )
    gw = LLMGateway(api_key="pk", base_url=chat.base_url, warehouse=warehouse)
    result = answering.answer("What did Globex say about pricing?", HITS, gateway=gw)
    assert result.mode == "llm" and result.model == "gpt-4o-mini-2024-07-18"
    assert [(c.n, c.doc_id) for c in result.citations] == [(3, "gong:call:C2"), (1, "gong:call:C1")]
    prompt = chat.requests[0]["messages"][1]["content"]
    assert "[3] Globex pricing call (gong, gong:call:C2)" in prompt
    assert "Question: What did Globex say about pricing?" in prompt
    assert len(usage_rows(warehouse)) == 1


def test_a_failing_llm_degrades_to_the_extractive_answer(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    chat = serve_chat(httpserver, lambda m: "never", status=503)
    gw = LLMGateway(api_key="pk", base_url=chat.base_url, warehouse=warehouse, timeout_s=5)
    result = answering.answer("What did Globex say about the price?", HITS, gateway=gw)
    assert result.mode == "extractive" and "[1]" in result.text
    assert usage_rows(warehouse).empty


class WordEmbedder:
    """Bag-of-words vectors: identical word sets are identical vectors. Enough to test the
    answerer's use of the cache (scopes, what is stored); real paraphrases are tested
    with the real model below."""

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace("?", "").split():
                out[i, hash(w) % 64] += 1
        return out


def test_cached_answers_stay_in_their_scope(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    chat = serve_chat(httpserver, lambda m: "Above budget [3].")
    gw = LLMGateway(api_key="pk", base_url=chat.base_url, warehouse=warehouse)
    cache = CacheResource(redis_url=None)
    assert isinstance(cache.backend, InProcessTTLCache)
    acme = SemanticCache(cache, WordEmbedder(), namespace="account=A1")
    globex = SemanticCache(cache, WordEmbedder(), namespace="account=A2")
    q = "What did they say about the price?"
    first = answering.answer(q, HITS, gateway=gw, cache=acme)
    again = answering.answer(q, HITS, gateway=gw, cache=acme)
    other = answering.answer(q, HITS, gateway=gw, cache=globex)
    assert (first.cached, again.cached, other.cached) == (False, True, False)
    assert again.text == first.text and again.citations == first.citations
    assert chat.calls == 2


@pytest.mark.slow  # loads the real model: paraphrases need real vectors
def test_a_paraphrased_question_is_served_from_the_semantic_cache(
    httpserver: HTTPServer,
    warehouse: DuckDBWarehouse,
    redis_url: str,
    redis_client,  # type: ignore[no-untyped-def]  # flushes the db around the test
) -> None:
    """Acceptance 6: with a key, through a local chat-completions server, on Redis."""
    from sophia_pipeline.resources.embedder import Embedder

    chat = serve_chat(httpserver, lambda m: "Globex said the price is above budget [3].")
    gw = LLMGateway(api_key="pk", base_url=chat.base_url, warehouse=warehouse)
    cache = SemanticCache(CacheResource(redis_url=redis_url), Embedder(device="cpu"))

    first = answering.answer(
        "What did Globex say about our pricing?", HITS, gateway=gw, cache=cache
    )
    assert first.mode == "llm" and not first.cached and chat.calls == 1
    second = answering.answer(
        "What were Globex's comments on our pricing?", HITS, gateway=gw, cache=cache
    )
    assert second.cached and second.text == first.text and second.mode == "llm"
    assert chat.calls == 1  # no second LLM call
    assert redis_client.keys("sophia:llm_responses:*")  # it really is in Redis

    other = answering.answer("Which competitor does Acme use?", HITS, gateway=gw, cache=cache)
    assert not other.cached and chat.calls == 2

    rows = usage_rows(warehouse).sort_values("called_at")
    assert rows["cache_hits"].tolist() == [0, 1, 0]
    assert rows["input_tokens"].tolist() == [120, 0, 120]
    one_call = (120 * 0.15 + 30 * 0.60) / 1_000_000
    assert rows["cost_usd"].sum() == pytest.approx(2 * one_call)
