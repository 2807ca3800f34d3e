"""The vector store failing every call for a while: each call is retried, then the
breaker opens and the index step fails with a message naming the vector store; a later
run (once the store answers again) completes, and the index equals the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sophia_pipeline.definitions import defs
from sophia_pipeline.reliability.breaker import reset_memory_breakers
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.sample.generator import generate
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store import ops
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.fakes import with_hash_embedder
from sophia_pipeline_tests.test_index_sync import CHANGE_DAY, REF, SELECTION


class FailingLanceDB(LanceDBVectorStore):
    """The real LanceDB store with a fault injected where it opens its table: every call
    fails, reads and writes alike."""

    def _table(self) -> Any:
        raise OSError("I/O error opening the index (injected)")

    def _existing(self) -> Any:
        raise OSError("I/O error opening the index (injected)")


def run(resources: dict[str, Any], instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    d = defs()
    return dg.materialize(
        list(d.assets or []),  # type: ignore[arg-type]
        resources=resources,
        instance=instance,
        selection=SELECTION,
        tags={
            "dagster/asset_partition_range_start": "2026-08-01",
            "dagster/asset_partition_range_end": CHANGE_DAY.isoformat(),
        },
        raise_on_error=False,
    )


@pytest.mark.slow
def test_outage_fails_the_step_clearly_and_a_later_run_completes(data_dir: Path) -> None:
    settings = load_settings()
    generate(settings.landing_dir, reference_date=REF)
    instance = dg.DagsterInstance.ephemeral()
    healthy = with_hash_embedder(defs().resources or {})
    failing = {**healthy, "vector_store": FailingLanceDB(uri=str(settings.lancedb_dir))}
    reset_memory_breakers()
    try:
        down = run(failing, instance)
        assert not down.success
        attempts = [  # each attempt of the index step, the retried ones included
            getattr(e.event_specific_data, "error", None)
            for e in down.all_events
            if e.event_type
            in (dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.STEP_FAILURE)
        ]
        messages = [err.to_string() for err in attempts if err is not None]
        assert messages and all("vector_store" in m for m in messages)
        assert "failed 3 times: OSError" in messages[0]  # each call retried first
        # Then refused without calling: the breaker opened within the step's retries.
        assert "circuit breaker open" in messages[-1]
        # Everything upstream of the index landed; the manifest holds nothing unwritten.
        wh = DuckDBWarehouse(path=str(settings.duckdb_path), raw_tables=raw_tables())
        assert ops.manifest_chunk_ids(wh) == set()

        reset_memory_breakers()  # the breaker's reset timeout has passed
        up = run(dict(healthy), instance)
        assert up.success
        store = LanceDBVectorStore(uri=str(settings.lancedb_dir))
        assert store.count() > 0
        assert store.ids() == ops.manifest_chunk_ids(wh)
        checks = up.get_asset_check_evaluations()
        assert checks and all(c.passed for c in checks)
    finally:
        reset_memory_breakers()
