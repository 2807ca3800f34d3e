"""The whole Gong slice through ``materialize()`` on DuckDB and LanceDB in tmp_path."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.cli.status import collect_status
from sophia_pipeline.definitions import defs
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.settings import load_settings
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.factories import gong_call, small_gong_landing, write_gong_day
from sophia_pipeline_tests.fakes import with_hash_embedder

FIRST = date(2026, 9, 1)
BAD_DAY = date(2026, 9, 4)


def run_all(
    instance: dg.DagsterInstance, start: date, end: date, real_model: bool = True
) -> dg.ExecuteInProcessResult:
    """The whole location over [start, end]; ``real_model=False`` swaps in the hash
    embedder where the test is about chunk ids and hashes, not vectors."""
    d = defs()
    resources = dict(d.resources or {})
    return dg.materialize(
        list(d.assets or []),
        resources=resources if real_model else with_hash_embedder(resources),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
    )


def events(result: dg.ExecuteInProcessResult, key: str) -> list[dg.AssetMaterialization]:
    node = dg.AssetKey.from_user_string(key).to_python_identifier()
    return result.asset_materializations_for_node(node)


def meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    # a single-run backfill reports one materialization per partition; window_* keys
    # (the whole run's totals) are the same on each
    return {k: v.value for k, v in events(result, key)[0].metadata.items()}


def per_day(result: dg.ExecuteInProcessResult, key: str, name: str) -> dict[str, object]:
    """What each partition's own materialization says about ``name``."""
    return {e.partition or "": e.metadata[name].value for e in events(result, key)}


@pytest.fixture
def landed(data_dir: Path) -> Path:
    landing = data_dir / "landing"
    small_gong_landing(landing, FIRST, days=3, per_day=2)
    no_id = gong_call("", BAD_DAY)
    bad_date = gong_call("c-bad-date", BAD_DAY)
    bad_date["started"] = "last tuesday"
    write_gong_day(
        landing,
        BAD_DAY,
        [gong_call("c-good", BAD_DAY)],
        extra_lines=['{"call_id": "c-trunc", "title": ', json.dumps(no_id), json.dumps(bad_date)],
    )
    return landing


@pytest.mark.slow  # the one slice on the real model
def test_slice_end_to_end_idempotent_with_dead_letters(landed: Path) -> None:
    settings = load_settings()
    wh = DuckDBWarehouse(path=str(settings.duckdb_path))
    vs = LanceDBVectorStore(uri=str(settings.lancedb_dir))
    with dg.DagsterInstance.ephemeral() as instance:
        first = run_all(instance, FIRST, BAD_DAY)
        assert first.success
        status_first = collect_status(settings)
        assert wh.count("raw.gong_calls") == 7
        assert wh.count("staging.documents") == 7
        assert wh.count("gong_intelligence.call_transcripts") == 7
        chunks = wh.count("staging.chunks")
        # every call has a window; the one with a long monologue needs several
        assert chunks > 7
        heads = wh.query("SELECT text FROM staging.chunks")["text"]
        assert all(t.startswith("Gong call: Discovery call c") for t in heads)
        assert vs.count() == chunks
        assert vs.ids() == set(wh.query("SELECT chunk_id FROM staging.chunks")["chunk_id"])
        tokens_max = wh.query("SELECT MAX(tokens) AS m FROM staging.chunks")["m"].iloc[0]
        assert tokens_max <= 256

        dead = wh.query("SELECT * FROM ops.dead_letters ORDER BY line_no")
        assert list(dead["line_no"]) == [2, 3, 4]
        assert dead["source_file"].str.endswith(f"{BAD_DAY.isoformat()}.jsonl").all()
        assert "invalid JSON" in dead["error"].iloc[0]
        assert "call_id" in dead["error"].iloc[1]
        assert "started" in dead["error"].iloc[2]
        assert meta(first, "raw/gong_calls")["window_dead_letters"] == 3
        assert meta(first, "embeddings/gong")["window_texts_embedded"] == chunks
        # Each day's event says what that day holds, not the run's totals.
        assert per_day(first, "raw/gong_calls", "dead_letters") == {
            "2026-09-01": 0,
            "2026-09-02": 0,
            "2026-09-03": 0,
            "2026-09-04": 3,
        }
        assert per_day(first, "raw/gong_calls", "records_stored") == {
            "2026-09-01": 2,
            "2026-09-02": 2,
            "2026-09-03": 2,
            "2026-09-04": 1,
        }
        chunks_per_day = per_day(first, "chunks/gong", "chunks")
        assert sum(chunks_per_day.values()) == chunks and max(chunks_per_day.values()) < chunks
        assert per_day(first, "embeddings/gong", "texts_embedded") == chunks_per_day
        assert per_day(first, "intelligence/call_transcripts", "calls") == {
            "2026-09-01": 2,
            "2026-09-02": 2,
            "2026-09-03": 2,
            "2026-09-04": 1,
        }

        second = run_all(instance, FIRST, BAD_DAY)
        assert second.success
        emb = meta(second, "embeddings/gong")
        assert emb["window_texts_embedded"] == 0 and emb["window_cache_hits"] == chunks
        assert per_day(second, "embeddings/gong", "cache_hits") == chunks_per_day
        assert meta(second, "index/vectors")["upserted"] == 0
        assert wh.count("raw.gong_calls") == 7
        assert wh.count("staging.chunks") == chunks
        assert wh.count("gong_intelligence.call_transcripts") == 7
        assert wh.count("ops.dead_letters") == 3
        assert set(wh.query("SELECT attempts FROM ops.dead_letters")["attempts"]) == {2}
        assert vs.count() == chunks

        # What `make demo` twice shows: same counts, and the second run embedded nothing.
        status_second = collect_status(settings)
        assert status_second["tables"] == status_first["tables"]
        assert status_second["vectors"] == status_first["vectors"] == chunks
        assert status_second["dead_letters"] == 3
        assert status_first["last_run"]["texts_embedded"] == chunks
        assert status_second["last_run"]["texts_embedded"] == 0
        assert status_second["last_run"]["cache_hits"] == chunks


def test_edited_call_reembeds_only_its_changed_chunks_and_drops_stale_ids(landed: Path) -> None:
    settings = load_settings()
    wh = DuckDBWarehouse(path=str(settings.duckdb_path))
    vs = LanceDBVectorStore(uri=str(settings.lancedb_dir))
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_all(instance, FIRST, FIRST, real_model=False).success
        before = vs.ids()
        # the call with a long monologue (several windows), re-landed without it and
        # with one turn changed: one window of new text, the other windows stale
        call = gong_call("c0-0", FIRST)
        call["turns"][0]["text"] = "A completely new opening about Clari."
        write_gong_day(settings.landing_dir, FIRST, [call, gong_call("c0-1", FIRST)])
        result = run_all(instance, FIRST, FIRST, real_model=False)
        assert result.success
        assert wh.count("raw.gong_calls") == 3  # append-only: the old version stays
        assert meta(result, "embeddings/gong")["window_texts_embedded"] == 1
        current = set(wh.query("SELECT chunk_id FROM staging.chunks")["chunk_id"])
        assert vs.ids() == current
        assert meta(result, "index/vectors")["deleted"] == len(before - current) > 0
