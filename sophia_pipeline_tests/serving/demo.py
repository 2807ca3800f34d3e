"""The sample demo, materialized once for the serving tests, and a service over it.

The whole code location runs over the generated sample (every source) with the hash
embedder (the read API, not the model, is under test: the keyword leg of search finds
by words, and the semantic leg still runs end to end). The service reads it as
``sophia-pipeline serve`` would: the DuckDB file read-only, the LanceDB folder, an
in-process cache, the same hash embedder for queries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from sophia_pipeline.cli import landed_date_range
from sophia_pipeline.resources.cache import CacheResource
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.sample.generator import generate
from sophia_pipeline.serving.guard import Guards
from sophia_pipeline.serving.service import Dependencies, ReadService
from sophia_pipeline.settings import Settings, load_settings
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.fakes import HashEmbedder, with_hash_embedder


@dataclass(frozen=True)
class Demo:
    settings: Settings
    warehouse: DuckDBWarehouse  # read-only, for the tests' own checks

    def service(self, *, prefix: str = "test", vector_store: object | None = None) -> ReadService:
        """A fresh service (its breakers named by ``prefix``: a test that kills a
        dependency must not leave an open breaker to the next)."""
        deps = Dependencies(
            warehouse=self.warehouse,
            vector_store=vector_store or LanceDBVectorStore(uri=str(self.settings.lancedb_dir)),  # type: ignore[arg-type]
            cache=CacheResource(redis_url=None),
            embedder=HashEmbedder(),
        )
        service = ReadService(deps, timeout_s=5.0, guards=Guards(timeout_s=5.0, prefix=prefix))
        service.warm()
        return service


def materialize_demo(data_dir: Path) -> Demo:
    """Generates the sample under ``data_dir`` and materializes every asset over its days
    (the environment must point SOPHIA_DATA_DIR at ``data_dir``)."""
    from sophia_pipeline.definitions import defs

    assert os.environ["SOPHIA_DATA_DIR"] == str(data_dir)
    settings = load_settings()
    generate(settings.landing_dir)
    found = landed_date_range(settings.landing_dir)
    assert found is not None
    start, end = found
    d = defs()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            list(d.assets or []),  # type: ignore[arg-type]
            resources=with_hash_embedder(d.resources or {}),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": start.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(),
            },
        )
    assert result.success
    warehouse = DuckDBWarehouse(path=str(settings.duckdb_path), read_only=True, create_schema=False)
    return Demo(settings=settings, warehouse=warehouse)
