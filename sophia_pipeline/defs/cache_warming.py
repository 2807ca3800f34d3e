"""Eager cache refresh: sensors that re-warm a cache entry after its source changes.

``executive_kpis_cache_warmer`` re-warms the executive KPIs (TTL 300 s) after each
kpi_rollups materialization, ``competitive_data_cache_warmer`` the competitive data
(TTL 3600 s) after each competitor_mentions one. Between those, a tick that finds the
entry expired re-warms it too, so readers keep hitting a warm entry at most a TTL old.
With no shared cache (no Redis: each process has its own) there is nothing to warm for
readers, and the sensors say so instead of querying the warehouse.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg

from sophia_pipeline.resources import cache_strategies as cs
from sophia_pipeline.resources.cache import CacheResource, InProcessTTLCache
from sophia_pipeline.store.warehouse import Warehouse

from .assets.gong_intelligence import MENTIONS_KEY
from .assets.kpis import KPI_KEY


def cache_warmer(
    name: str,
    asset_key: dg.AssetKey,
    policy: cs.CachePolicy,
    entry: str,
    warm: Callable[[CacheResource, Warehouse], Any],
) -> dg.SensorDefinition:
    @dg.sensor(
        name=name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Re-warms the {policy.name} cache entry (TTL {policy.ttl_s:g} s) after each "
            f"{asset_key.to_user_string()} materialization, and whenever it has expired."
        ),
    )
    def _warmer(
        context: dg.SensorEvaluationContext, cache: CacheResource, warehouse: Warehouse
    ) -> dg.SensorResult:
        records = context.instance.fetch_materializations(asset_key, limit=1).records
        if not records:
            return dg.SensorResult(skip_reason=f"{asset_key.to_user_string()} not materialized yet")
        if isinstance(cache.backend, InProcessTTLCache):
            return dg.SensorResult(
                skip_reason="no shared cache (Redis unreachable): nothing to warm"
            )
        latest = records[0].storage_id
        new = context.cursor is None or latest > int(context.cursor)
        if not new and cs.StrategyCache(cache, policy).is_cached(entry):
            return dg.SensorResult(skip_reason=f"{policy.name} is warm and current")
        warm(cache, warehouse)
        reason = "new materialization" if new else "entry expired"
        context.log.info(f"re-warmed {policy.name} ({reason})")
        return dg.SensorResult(
            cursor=str(latest), skip_reason=f"re-warmed {policy.name} ({reason})"
        )

    return _warmer


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        sensors=[
            cache_warmer(
                "executive_kpis_cache_warmer",
                KPI_KEY,
                cs.EXECUTIVE_KPIS,
                cs.EXECUTIVE_KPIS_KEY,
                cs.warm_executive_kpis,
            ),
            cache_warmer(
                "competitive_data_cache_warmer",
                MENTIONS_KEY,
                cs.COMPETITIVE_DATA,
                cs.COMPETITIVE_DATA_KEY,
                cs.warm_competitive_data,
            ),
        ]
    )
