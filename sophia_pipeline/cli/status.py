"""What ``sophia-pipeline status`` reports, for the active profile."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sophia_pipeline.resources.vector_store import VectorStore
from sophia_pipeline.settings import Profile, Settings
from sophia_pipeline.store import ops
from sophia_pipeline.store.landing import open_landing
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline.webhooks.batches import WEBHOOK_SOURCES

log = logging.getLogger(__name__)

RUN_LOG = "ops.embed_runs"


def unprocessed_counts(settings: Settings, warehouse: Warehouse | None) -> dict[str, int]:
    """Landed webhook events the raw layer has not loaded yet, per source: those after
    each source's committed cursor (``ops.webhook_cursors``); everything landed when
    nothing was committed yet (or no warehouse exists yet: ``None``)."""
    committed = ops.webhook_cursors(warehouse) if warehouse is not None else {}
    store = open_landing(settings)
    counts: dict[str, int] = {}
    for source in WEBHOOK_SOURCES:
        cursor = committed.get(source)
        try:
            counts[source] = store.count_after(source, cursor)
        except ValueError:
            # A cursor this store cannot have issued (the landing folder was replaced):
            # over-reporting is the safe side of a status number.
            log.warning("webhook cursor %r of %s is not valid here; counting all", cursor, source)
            counts[source] = store.count_after(source, None)
    return counts


def _stores(settings: Settings) -> tuple[Warehouse, Warehouse | None, VectorStore]:
    """The configured warehouse, the one to read (None where there is nothing to read
    yet: no DuckDB file) and the vector store. Locally the warehouse is opened read-only
    (``status`` never writes it, so only runs do), and only the local stores are
    imported: the production resources' imports (Snowflake, Pinecone, API clients) cost
    seconds that a local count has no use for."""
    if settings.profile is Profile.LOCAL:
        from sophia_pipeline.resources.local_stores import local_vector_store, local_warehouse

        configured = local_warehouse(settings)
        reader = (
            local_warehouse(settings, read_only=True) if Path(configured.path).exists() else None
        )
        return configured, reader, local_vector_store(settings)
    from sophia_pipeline.defs.resources import resolved_resources

    # Outside a run: the EnvVars resolved here (Dagster resolves them only at launch).
    resources = resolved_resources(settings)
    warehouse: Warehouse = resources["warehouse"]  # type: ignore[assignment]
    return warehouse, warehouse, resources["vector_store"]  # type: ignore[return-value]


def collect_status(settings: Settings) -> dict[str, Any]:
    configured, warehouse, vectors = _stores(settings)
    existing = warehouse.existing_tables() if warehouse is not None else set()
    counts = (warehouse if warehouse is not None else configured).table_counts(existing)
    # A log of runs, not data: it grows with every run by design, so it is reported
    # apart from the tables whose counts a re-run must leave unchanged.
    runs_logged = counts.pop(RUN_LOG, 0)
    return {
        "profile": settings.profile.value,
        "data_dir": str(settings.data_dir),
        "tables": counts,
        "embed_runs_logged": runs_logged,
        "vectors": vectors.count(),
        "dead_letters": counts.get("ops.dead_letters", 0),
        "webhooks_unprocessed": unprocessed_counts(
            settings, warehouse if "ops.webhook_cursors" in existing else None
        ),
        "last_run": ops.last_embed_run(warehouse)
        if warehouse is not None and RUN_LOG in existing
        else None,
    }
