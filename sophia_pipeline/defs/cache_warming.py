"""Eager cache refresh, in runs: one asset per eagerly refreshed cache entry.

``cache/executive_kpis`` re-warms the executive KPIs (TTL 300 s) after ``kpis/rollups``
changes, ``cache/competitive_data`` the competitive data (TTL 3600 s) after
``intelligence/competitor_mentions`` does (automation: on input change; ``sophia-pipeline
run`` warms both at the end of its run). Warming is work, so it happens in a run, shown
in run history, never in a sensor tick. Between warm-ups the entries are read-through
(``resources/cache_strategies.py``): an expired entry is reloaded by the first reader,
so the TTL bounds staleness either way. With no shared cache (no Redis: each process
has its own) there is nothing to warm for readers, and the asset says so instead of
querying the warehouse.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg

from sophia_pipeline.defs.keys import CACHE, KPI_KEY, MENTIONS_KEY
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, ON_INPUT_CHANGE, OWNERS, SINGLE_RUN
from sophia_pipeline.resources import cache_strategies as cs
from sophia_pipeline.resources.cache import CacheResource, InProcessTTLCache
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.store.warehouse import Warehouse


def cache_warmer(
    settings: Settings,
    input_key: dg.AssetKey,
    policy: cs.CachePolicy,
    warm: Callable[[CacheResource, Warehouse], Any],
) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey([CACHE, policy.name]),
        deps=[input_key],
        group_name=CACHE,
        kinds={"redis", warehouse_kind(settings)},
        owners=OWNERS,
        retry_policy=IO_RETRY,
        # Not partitioned; single_run lets a CLI range backfill upstream include it once.
        backfill_policy=SINGLE_RUN,
        automation_condition=ON_INPUT_CHANGE,
        description=(
            f"The {policy.name} cache entry (TTL {policy.ttl_s:g} s), re-warmed from the "
            f"warehouse after each {input_key.to_user_string()} change; read-through "
            "between warm-ups."
        ),
    )
    def _warm(
        context: dg.AssetExecutionContext, cache: CacheResource, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        if isinstance(cache.backend, InProcessTTLCache):
            reason = "no shared cache (Redis unreachable): nothing to warm"
            context.log.info(reason)
            return dg.MaterializeResult(metadata={"warmed": False, "reason": reason})
        warm(cache, warehouse)
        context.log.info(f"re-warmed {policy.name}")
        return dg.MaterializeResult(metadata={"warmed": True, "ttl_s": policy.ttl_s})

    return _warm


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [
        cache_warmer(settings, KPI_KEY, cs.EXECUTIVE_KPIS, cs.warm_executive_kpis),
        cache_warmer(settings, MENTIONS_KEY, cs.COMPETITIVE_DATA, cs.warm_competitive_data),
    ]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
