"""What ``sophia-pipeline status`` reports, for the active profile."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sophia_pipeline.settings import Profile, Settings
from sophia_pipeline.store import common, ops
from sophia_pipeline.store.landing import open_landing
from sophia_pipeline.webhooks.batches import WEBHOOK_SOURCES

if TYPE_CHECKING:
    from sophia_pipeline.store.common import Reader

log = logging.getLogger(__name__)

RUN_LOG = "ops.embed_runs"


def unprocessed_counts(settings: Settings, warehouse: Reader | None) -> dict[str, int]:
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


def collect_status(settings: Settings) -> dict[str, Any]:
    """Rows per table, vectors, dead letters, the webhook backlog and the last run's
    embedding totals of the configured stores. Locally the warehouse is read on one
    read-only connection (``status`` never writes it, so only runs do), and only the
    local stores are imported: the production resources' imports (Snowflake, Pinecone,
    API clients) cost seconds that a local count has no use for, and so do Dagster's
    (the resources are Dagster resources) and LanceDB's while the count remembered
    beside its table is current (``local_vector_count``)."""
    if settings.profile is Profile.LOCAL:
        from sophia_pipeline.resources.local_stores import local_reader, local_vector_count
        from sophia_pipeline.sources.registry import raw_tables

        with local_reader(settings) as reader:
            reads = _warehouse_reads(settings, reader, raw_tables())
        # Counted after the connection is closed: a count LanceDB must take itself
        # (its import alone is seconds) would otherwise keep the runs' writer waiting.
        return _report(settings, reads, lambda: local_vector_count(settings))
    from sophia_pipeline.defs.resources import resolved_resources
    from sophia_pipeline.resources.vector_store import VectorStore
    from sophia_pipeline.store.warehouse import Warehouse

    # Outside a run: the EnvVars resolved here (Dagster resolves them only at launch).
    resources = resolved_resources(settings)
    warehouse: Warehouse = resources["warehouse"]  # type: ignore[assignment]
    vectors: VectorStore = resources["vector_store"]  # type: ignore[assignment]
    return _report(
        settings, _warehouse_reads(settings, warehouse, warehouse.raw_tables), vectors.count
    )


def _warehouse_reads(
    settings: Settings, reader: Reader | None, raw_tables: Sequence[str]
) -> dict[str, Any]:
    """What ``status`` reads from the warehouse (``reader``; None where there is nothing
    to read yet: everything counts 0 and nothing is created)."""
    existing = common.existing_tables(reader) if reader is not None else set()
    return {
        "tables": common.table_counts(reader, raw_tables, existing),
        "webhooks_unprocessed": unprocessed_counts(
            settings, reader if "ops.webhook_cursors" in existing else None
        ),
        "last_run": ops.last_embed_run(reader)
        if reader is not None and RUN_LOG in existing
        else None,
    }


def _report(
    settings: Settings, reads: dict[str, Any], count_vectors: Callable[[], int]
) -> dict[str, Any]:
    counts = reads["tables"]
    # A log of runs, not data: it grows with every run by design, so it is reported
    # apart from the tables whose counts a re-run must leave unchanged.
    runs_logged = counts.pop(RUN_LOG, 0)
    return {
        "profile": settings.profile.value,
        "data_dir": str(settings.data_dir),
        "tables": counts,
        "embed_runs_logged": runs_logged,
        "vectors": count_vectors(),
        "dead_letters": counts.get("ops.dead_letters", 0),
        "webhooks_unprocessed": reads["webhooks_unprocessed"],
        "last_run": reads["last_run"],
    }


def render_status(status: dict[str, Any]) -> str:
    """``collect_status``'s dict as lines a person reads: one ``key: value`` line per
    value, and each nested dict (table counts, webhook backlogs, the last run) as an
    indented table under its key, names aligned and numbers right-aligned."""
    lines: list[str] = []
    for key, value in status.items():
        if isinstance(value, dict):
            lines.append(f"{key}:" if value else f"{key}: none")
            lines.extend(_table(value) if value else [])
        else:
            lines.append(f"{key}: {'none' if value is None else value}")
    return "\n".join(lines)


def _table(rows: dict[str, Any]) -> list[str]:
    cells = {str(k): "none" if v is None else str(v) for k, v in rows.items()}
    name_w = max(len(k) for k in cells)
    # Numbers right-aligned among themselves, so magnitudes line up; text (a run id)
    # starts where they do.
    numbers = [cells[str(k)] for k, v in rows.items() if isinstance(v, int)]
    number_w = max((len(n) for n in numbers), default=0)
    return [
        f"  {k:<{name_w}}  {v:>{number_w}}" if isinstance(raw, int) else f"  {k:<{name_w}}  {v}"
        for (k, v), raw in zip(cells.items(), rows.values(), strict=True)
    ]
