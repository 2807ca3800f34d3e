"""Estuary Flow, as an external asset: data Estuary loads into the warehouse by itself.

Dagster does not run Estuary; it watches it. The table an Estuary materialization
writes (``ESTUARY_TABLE``, ``schema.table``) is an ``AssetSpec``, and a sensor observes
its newest load time (``ESTUARY_LOADED_AT_COLUMN``, Estuary's ``flow_published_at`` by
default) every few minutes. Each change is recorded as an observation carrying
``dagster/last_updated_timestamp``, which is what the freshness check reads: the UI
then shows the table in the lineage graph with its freshness, like any asset we build.

Prod profile only, and only once ``ESTUARY_TABLE`` is set: locally there is no Estuary.
"""

from datetime import timedelta

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.checks import checks_not_policies
from sophia_pipeline.defs.keys import RAW
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import OWNERS
from sophia_pipeline.settings import Profile, Settings, current_settings
from sophia_pipeline.store.external import newest_and_rows
from sophia_pipeline.store.warehouse import Warehouse, checked_table


def estuary_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["estuary", checked_table(table).split(".")[1]])


def estuary_spec(table: str, settings: Settings) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=estuary_key(table),
        group_name=RAW,
        kinds={"estuary", warehouse_kind(settings)},
        owners=OWNERS,
        description=(
            f"{checked_table(table).upper()}, loaded continuously by an Estuary Flow "
            "materialization (not by Dagster). Observed by estuary_observation_sensor."
        ),
    )


def last_loaded(wh: Warehouse, table: str, column: str) -> tuple[float | None, int]:
    """The newest load time in ``table`` (epoch seconds, None when empty) and its rows."""
    value, rows = newest_and_rows(wh, table, column)
    if value is None or pd.isna(value):
        return None, rows
    stamp = pd.Timestamp(value)
    # Estuary writes UTC; a naive value read back is UTC too.
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.timestamp(), rows


def observation_sensor(table: str, column: str, key: dg.AssetKey) -> dg.SensorDefinition:
    @dg.sensor(
        name="estuary_observation_sensor",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Observes the newest {column} in {checked_table(table)}.",
    )
    def estuary_observation_sensor(
        context: dg.SensorEvaluationContext, warehouse: Warehouse
    ) -> dg.SensorResult | dg.SkipReason:
        loaded_at, rows = last_loaded(warehouse, table, column)
        if loaded_at is None:
            return dg.SkipReason(f"{table} holds no rows yet")
        cursor = repr(loaded_at)
        if context.cursor == cursor:
            return dg.SkipReason("no new load since the last observation")
        return dg.SensorResult(
            asset_events=[
                dg.AssetObservation(
                    asset_key=key,
                    metadata={
                        "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(loaded_at),
                        "dagster/row_count": rows,
                    },
                )
            ],
            cursor=cursor,
        )

    return estuary_observation_sensor


def build_estuary(settings: Settings) -> dg.Definitions:
    table = settings.estuary.table
    if settings.profile is not Profile.PROD or not table:
        return dg.Definitions()
    column = settings.estuary.loaded_at_column
    minutes = settings.estuary.freshness_minutes
    spec = estuary_spec(table, settings)
    with checks_not_policies():  # observations count for checks, not for policies
        freshness = dg.build_last_update_freshness_checks(
            assets=[spec.key], lower_bound_delta=timedelta(minutes=minutes)
        )
        freshness_sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=freshness,
            name="estuary_freshness_checks_sensor",
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
    return dg.Definitions(
        assets=[spec],
        asset_checks=freshness,
        sensors=[observation_sensor(table, column, spec.key), freshness_sensor],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_estuary(current_settings())
