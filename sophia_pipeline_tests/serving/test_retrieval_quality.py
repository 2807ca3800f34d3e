"""Retrieval quality on the sample's labelled queries, with the real model: hybrid keeps
its hit@5 at or above a floor set a little under the measured value (bench/RESULTS.md,
"Retrieval quality"), and beats each leg alone on hit@5 and MRR@10."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.definitions import defs
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.sample.generator import DEMO_REFERENCE_DATE, generate
from sophia_pipeline.serving.evaluation import evaluate, load_queries
from sophia_pipeline.serving.search import Searcher
from sophia_pipeline.settings import load_settings

# Measured 0.917 (44 of 48 queries) on the demo sample with conversation windows:
# bench/RESULTS.md. Two queries of margin.
HYBRID_HIT_AT_5_FLOOR = 0.875


@pytest.mark.slow  # the whole sample through the real model (minutes on two cores)
def test_hybrid_hit_at_5_floor_and_beats_each_leg(data_dir: Path) -> None:
    settings = load_settings()
    generate(settings.landing_dir, reference_date=DEMO_REFERENCE_DATE)
    d = defs()
    result = dg.materialize(
        list(d.assets or []),  # type: ignore[arg-type]
        resources=dict(d.resources or {}),
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": "2026-08-26",
            "dagster/asset_partition_range_end": "2026-11-23",
        },
    )
    assert result.success
    embedder = Embedder()
    searcher = Searcher(
        LanceDBVectorStore(uri=str(settings.lancedb_dir)), lambda q: embedder.embed([q])[0]
    )
    queries = load_queries(settings.landing_dir / "_labels" / "queries.jsonl")
    assert len(queries) >= 40
    hybrid = evaluate(searcher, queries, "hybrid")
    semantic = evaluate(searcher, queries, "semantic")
    keyword = evaluate(searcher, queries, "keyword")
    print(hybrid, semantic, keyword)
    assert hybrid.hit_at_5 >= HYBRID_HIT_AT_5_FLOOR
    assert hybrid.hit_at_5 >= max(semantic.hit_at_5, keyword.hit_at_5)
    assert hybrid.mrr_at_10 >= max(semantic.mrr_at_10, keyword.mrr_at_10)
