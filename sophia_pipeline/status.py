"""What ``sophia-pipeline status`` reports, for the active profile."""

from __future__ import annotations

from typing import Any

from sophia_pipeline.defs.resources import resources_for
from sophia_pipeline.resources.vector_store import VectorStore
from sophia_pipeline.settings import Settings
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline.webhooks.status import unprocessed_counts

RUN_LOG = "ops.embed_runs"


def collect_status(settings: Settings) -> dict[str, Any]:
    resources = resources_for(settings)
    warehouse: Warehouse = resources["warehouse"]  # type: ignore[assignment]
    vectors: VectorStore = resources["vector_store"]  # type: ignore[assignment]
    warehouse.ensure_schema()
    last = warehouse.query(
        """
        SELECT run_id, SUM(texts_total) AS texts_total, SUM(texts_embedded) AS texts_embedded,
               SUM(cache_hits) AS cache_hits, MAX(recorded_at) AS finished
        FROM ops.embed_runs GROUP BY run_id ORDER BY finished DESC LIMIT 1
        """
    )
    last_run = None
    if len(last):
        row = last.iloc[0]
        last_run = {
            "run_id": row["run_id"],
            "texts_total": int(row["texts_total"]),
            "texts_embedded": int(row["texts_embedded"]),
            "cache_hits": int(row["cache_hits"]),
        }
    counts = warehouse.table_counts()
    # A log of runs, not data: it grows with every run by design, so it is reported
    # apart from the tables whose counts a re-run must leave unchanged.
    runs_logged = counts.pop(RUN_LOG, 0)
    return {
        "profile": settings.profile.value,
        "data_dir": str(settings.data_dir),
        "tables": counts,
        "embed_runs_logged": runs_logged,
        "vectors": vectors.count(),
        "dead_letters": warehouse.count("ops.dead_letters"),
        "webhooks_unprocessed": unprocessed_counts(settings, warehouse),
        "last_run": last_run,
    }
