"""Cache strategies against a real Redis: TTL per type, eager re-warm after a rollup, lazy
fill, semantic reuse of LLM answers, and reads that still answer when Redis dies."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.defs import cache_warming
from sophia_pipeline.defs.assets import kpis as kpi_assets
from sophia_pipeline.defs.keys import KPI_KEY, MENTIONS_KEY
from sophia_pipeline.processing.kpis import formulas
from sophia_pipeline.processing.kpis import inputs as kpi_inputs
from sophia_pipeline.resources import cache_strategies as cs
from sophia_pipeline.resources.cache import CacheResource, RedisCache
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.settings import Profile, Settings
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.conftest import start_redis_server
from sophia_pipeline_tests.kpis import dataset


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    wh.ensure_schema()
    dataset.seed(wh)
    return wh


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(device="cpu")


def ttl_ms(redis_client, key: str) -> int:  # type: ignore[no-untyped-def]
    return int(redis_client.pttl(f"sophia:{key}"))


def test_each_type_is_stored_with_its_ttl(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    assert {p.name: (p.ttl_s, p.refresh.value) for p in cs.POLICIES.values()} == {
        "executive_kpis": (300, "eager"),
        "gong_summaries": (1800, "lazy"),
        "competitive_data": (3600, "eager"),
        "llm_responses": (7200, "semantic"),
    }
    cache = CacheResource(redis_url=redis_url)
    assert isinstance(cache.backend, RedisCache)
    for name, seconds in (
        ("executive_kpis", 300),
        ("gong_summaries", 1800),
        ("competitive_data", 3600),
        ("llm_responses", 7200),
    ):
        cs.StrategyCache(cache, cs.POLICIES[name]).put("k", {"v": name})
        assert seconds * 1000 - 2000 < ttl_ms(redis_client, f"{name}:k") <= seconds * 1000, name
        assert cs.StrategyCache(cache, cs.POLICIES[name]).get("k") == {"v": name}


def warmer(settings: Settings, name: str) -> dg.AssetsDefinition:
    return next(
        a for a in cache_warming.build_assets(settings) if a.key == dg.AssetKey(["cache", name])
    )


def warm(asset: dg.AssetsDefinition, instance, cache, wh) -> dict:  # type: ignore[no-untyped-def]
    """One run of a cache-warming asset (what automation launches after its input)."""
    result = dg.materialize([asset], resources={"cache": cache, "warehouse": wh}, instance=instance)
    assert result.success
    (mat,) = result.asset_materializations_for_node(asset.key.to_python_identifier())
    return {k: v.value for k, v in mat.metadata.items()}


def test_executive_kpis_are_rewarmed_after_each_rollup(
    redis_url: str,
    redis_client,  # type: ignore[no-untyped-def]
    warehouse: DuckDBWarehouse,
    tmp_path: Path,
) -> None:
    cache = CacheResource(redis_url=redis_url)
    settings = Settings(profile=Profile.LOCAL, data_dir=tmp_path)
    warmer_asset = warmer(settings, "executive_kpis")
    assert warmer_asset.asset_deps[warmer_asset.key] == {KPI_KEY}
    assets = kpi_assets.build_assets(settings, llm_configured=False)
    key = "executive_kpis:latest"
    with dg.instance_for_test() as instance:
        dg.materialize(
            assets,
            resources={"warehouse": warehouse},
            instance=instance,
            partition_key="2026-10-15",
        )
        assert redis_client.get(f"sophia:{key}") is None  # building KPIs warms nothing
        assert warm(warmer_asset, instance, cache, warehouse)["warmed"] is True
        assert 295_000 < ttl_ms(redis_client, key) <= 300_000
        warmed = cs.StrategyCache(cache, cs.EXECUTIVE_KPIS).get("latest")
        assert warmed["as_of"] == "2026-10-15" and warmed["latest"]["revenue_mtd"] == 100_000.0

        dg.materialize(
            assets,
            resources={"warehouse": warehouse},
            instance=instance,
            partition_key="2026-10-16",
        )
        warm(warmer_asset, instance, cache, warehouse)
        assert cs.StrategyCache(cache, cs.EXECUTIVE_KPIS).get("latest")["as_of"] == "2026-10-16"

        redis_client.delete(f"sophia:{key}")  # as if the 300 s were up
        assert cs.executive_kpis(cache, warehouse)["as_of"] == "2026-10-16"  # read-through
        assert redis_client.get(f"sophia:{key}") is not None


def test_competitive_data_is_rewarmed_after_new_mentions(
    redis_url: str,
    redis_client,  # type: ignore[no-untyped-def]
    warehouse: DuckDBWarehouse,
    tmp_path: Path,
) -> None:
    cache = CacheResource(redis_url=redis_url)
    warmer_asset = warmer(Settings(profile=Profile.LOCAL, data_dir=tmp_path), "competitive_data")
    assert warmer_asset.asset_deps[warmer_asset.key] == {MENTIONS_KEY}
    with dg.instance_for_test() as instance:
        assert warm(warmer_asset, instance, cache, warehouse)["warmed"] is True
        assert 3_595_000 < ttl_ms(redis_client, "competitive_data:last_30_days") <= 3_600_000


def test_without_a_shared_cache_the_warmer_says_so(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    cache = CacheResource(redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    warmer_asset = warmer(Settings(profile=Profile.LOCAL, data_dir=tmp_path), "executive_kpis")
    with dg.instance_for_test() as instance:
        meta = warm(warmer_asset, instance, cache, warehouse)
    assert meta["warmed"] is False and "no shared cache" in meta["reason"]


def test_gong_summaries_are_filled_lazily_on_a_miss(
    redis_url: str,
    redis_client,  # type: ignore[no-untyped-def]
    warehouse: DuckDBWarehouse,
) -> None:
    cache = CacheResource(redis_url=redis_url)
    assert redis_client.get("sophia:gong_summaries:C1") is None  # nothing warmed it
    first = cs.gong_summary(cache, warehouse, "C1")
    assert first is not None and first["account_id"] == "A1" and first["competitors"] == ["Clari"]
    assert 1_795_000 < ttl_ms(redis_client, "gong_summaries:C1") <= 1_800_000
    warehouse.execute("DELETE FROM gong_intelligence.call_transcripts WHERE call_id = 'C1'")
    assert cs.gong_summary(cache, warehouse, "C1") == first  # served from Redis
    assert cs.gong_summary(cache, warehouse, "nope") is None
    assert redis_client.get("sophia:gong_summaries:nope") is None  # absence is not cached


@pytest.mark.slow  # loads the real model: paraphrases need real vectors
def test_semantic_cache_reuses_answers_for_paraphrases_only(
    redis_url: str,
    redis_client,  # type: ignore[no-untyped-def]
    embedder: Embedder,
) -> None:
    cache = CacheResource(redis_url=redis_url)
    semantic = cs.SemanticCache(cache, embedder)
    calls: list[str] = []

    def llm(question: str) -> str:
        calls.append(question)
        return f"answer to: {question}"

    answer, cached = semantic.answer("What was our revenue last month?", llm)
    assert not cached and calls == ["What was our revenue last month?"]
    qid = cs.SemanticCache.question_id("What was our revenue last month?")
    assert 7_195_000 < ttl_ms(redis_client, f"llm_responses:answer:{qid}") <= 7_200_000

    again, cached = semantic.answer("How much revenue did we make last month?", llm)
    assert cached and again == answer and len(calls) == 1

    hit = semantic.lookup("How much revenue did we make last month?")
    assert hit is not None and hit.question == "What was our revenue last month?"
    assert hit.distance < cs.DEFAULT_MAX_DISTANCE

    other, cached = semantic.answer("Which competitor is the biggest threat in healthcare?", llm)
    assert not cached and other.startswith("answer to: Which competitor") and len(calls) == 2
    # Close in wording, different in meaning: not reused.
    _, cached = semantic.answer("What was our revenue this quarter?", llm)
    assert not cached and len(calls) == 3


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of this test's own, so it can be killed mid-test."""
    proc, url = start_redis_server(tmp_path)
    yield proc, url
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_reads_still_answer_when_redis_stops_mid_test(
    private_redis: tuple[subprocess.Popen[bytes], str],
    warehouse: DuckDBWarehouse,
    embedder: Embedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proc, url = private_redis
    warehouse.insert(
        "executive_intelligence.kpi_rollups",
        formulas.rollup(kpi_inputs.KpiInputs(), [dataset.KPI_DAY]).assign(
            computed_at=dataset.KPI_DAY
        ),
    )
    cache = CacheResource(redis_url=url)
    assert isinstance(cache.backend, RedisCache)
    semantic = cs.SemanticCache(cache, embedder)

    summary = cs.gong_summary(cache, warehouse, "C2")
    board = cs.executive_kpis(cache, warehouse)
    semantic.answer("What was our revenue last month?", lambda q: "cached answer")
    assert cache.get("gong_summaries:C2") is not None  # all three really went to Redis

    proc.kill()
    proc.wait(timeout=10)
    with caplog.at_level(logging.WARNING):
        assert cs.gong_summary(cache, warehouse, "C2") == summary  # from the warehouse
        assert cs.executive_kpis(cache, warehouse) == board
        answer, cached = semantic.answer("What was our revenue last month?", lambda q: "fresh")
    assert (answer, cached) == ("fresh", False)  # the source answered, nothing raised
    # The outage is logged once, as a warning (each failed call after it is DEBUG).
    assert caplog.text.count("Redis unavailable") == 1
