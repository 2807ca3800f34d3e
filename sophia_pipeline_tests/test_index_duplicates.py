"""Duplicate rows in the vector index (what two unserialized writers left behind) are
seen and repaired: the sync rewrites the index, and the check counts rows against
distinct ids, not only id sets (issue 13: 1,422 rows for 711 ids passed the check)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from sophia_pipeline.definitions import defs
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.settings import load_settings
from sophia_pipeline_tests.factories import small_gong_landing
from sophia_pipeline_tests.fakes import with_hash_embedder

SELECTION = ["raw/gong_calls", "documents/gong", "chunks/gong", "embeddings/gong", "index/vectors"]


def materialize(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    d = defs()
    return dg.materialize(
        list(d.assets or []),
        resources=with_hash_embedder(d.resources or {}),
        instance=instance,
        selection=SELECTION,
        tags={
            "dagster/asset_partition_range_start": "2026-09-01",
            "dagster/asset_partition_range_end": "2026-09-02",
        },
    )


def check_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "index_matches_manifest"
    ]
    return evaluation


def test_duplicated_ids_in_the_index_are_rewritten_once_each(data_dir: Path) -> None:
    settings = load_settings()
    small_gong_landing(settings.landing_dir, date(2026, 9, 1), days=2, per_day=2)
    store = LanceDBVectorStore(uri=str(settings.lancedb_dir))
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(instance).success
        ids = store.ids()
        assert ids and store.count() == len(ids)
        # A second writer's blind insert of the same ids (as concurrent merge_inserts did).
        table = store._table()
        table.add(table.to_arrow())
        assert store.count() == 2 * len(ids)

        again = materialize(instance)

        assert again.success
        assert store.ids() == ids and store.count() == len(ids)
        evaluation = check_of(again)
        assert evaluation.passed
        assert evaluation.metadata["duplicate_rows"].value == 0
