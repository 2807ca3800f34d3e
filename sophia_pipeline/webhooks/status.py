"""How many landed webhook events the raw layer has not loaded yet, per source."""

from __future__ import annotations

import logging

from sophia_pipeline.settings import Settings
from sophia_pipeline.store import tables
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline.webhooks.batches import WEBHOOK_SOURCES
from sophia_pipeline.webhooks.landing import LandingStore

log = logging.getLogger(__name__)


def unprocessed_counts(settings: Settings, warehouse: Warehouse) -> dict[str, int]:
    """Events landed after each source's committed cursor (``ops.webhook_cursors``);
    everything landed when nothing was committed yet. The warehouse schema must exist
    (``warehouse.ensure_schema()``)."""
    committed = tables.webhook_cursors(warehouse)
    store = LandingStore(settings.webhook_landing_dir)
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
