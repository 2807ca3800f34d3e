"""Every asset key, in one scheme: the stage first, then what it holds.

``raw/<table>`` (one per raw table, named in ``sources/registry.py``), ``documents/<source>``,
``chunks/<source>``, ``embeddings/<source>``, ``index/vectors``,
``intelligence/<table>``, ``kpis/rollups``, ``executive/<output>``, ``cache/<entry>``
(the eagerly warmed serving-cache entries); the external syncs
keep their system as the stage (``airbyte/<source>``, ``estuary/<table>``). The group
of an asset is its stage, so the UI's groups read like the pipeline's flow. Select a
stage from the CLI with ``--select 'raw/gong_calls*'`` (the asset and everything
downstream) or ``--select 'key:"kpis/rollups"'``.
"""

from __future__ import annotations

import dagster as dg

from sophia_pipeline.sources.registry import SPECS

RAW = "raw"
DOCUMENTS = "documents"
CHUNKS = "chunks"
EMBEDDINGS = "embeddings"
INDEX = "index"
INTELLIGENCE = "intelligence"
KPIS = "kpis"
EXECUTIVE = "executive"
CACHE = "cache"

INDEX_KEY = dg.AssetKey([INDEX, "vectors"])
MENTIONS_KEY = dg.AssetKey([INTELLIGENCE, "competitor_mentions"])
TRANSCRIPTS_KEY = dg.AssetKey([INTELLIGENCE, "call_transcripts"])
SUMMARIES_KEY = dg.AssetKey([INTELLIGENCE, "gong_summaries"])
KPI_KEY = dg.AssetKey([KPIS, "rollups"])
DASHBOARD_KEY = dg.AssetKey([EXECUTIVE, "dashboard_data"])
REPORT_KEY = dg.AssetKey([EXECUTIVE, "report"])
ALERTS_KEY = dg.AssetKey([EXECUTIVE, "competitor_alerts"])


def raw_key(source: str) -> dg.AssetKey:
    """The raw asset of ``source``, from the registry's ``raw_asset`` (``raw/<table>``)."""
    return dg.AssetKey.from_user_string(SPECS[source].raw_asset)


def documents_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([DOCUMENTS, source])


def chunks_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([CHUNKS, source])


def embeddings_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([EMBEDDINGS, source])
