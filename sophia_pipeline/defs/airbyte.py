"""Airbyte syncs for Gong, HubSpot and Linear: prod profile only, one asset per
connection, upstream of the source's raw asset.

Each sync is an explicit asset built from a connection id (``AIRBYTE_<SOURCE>_CONNECTION_ID``)
rather than from ``build_airbyte_assets_definitions``: that one asks the Airbyte API for
the workspace's connections while the code location loads, so an Airbyte outage would
stop every other asset from loading too. Here loading needs no network; the API is
called only when a sync runs.

What the raw assets read afterwards is the destination's raw tables
(``resources/prod_readers.py: AirbyteTableReader``). The ``airbyte`` resource (the
workspace, secrets as ``EnvVar``) is registered in ``defs/resources.py``; the hourly sync
schedule lives in ``defs/schedules.py``.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_airbyte import AirbyteCloudWorkspace, AirbyteWorkspace
from dagster_airbyte.resources import BaseAirbyteWorkspace

from sophia_pipeline.defs.keys import RAW, raw_key
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, OWNERS
from sophia_pipeline.settings import AirbyteSettings, Profile, Settings, current_settings
from sophia_pipeline.sources.registry import SPECS

AIRBYTE_GROUP = RAW  # the sync is the first half of the raw stage


def airbyte_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["airbyte", source])


def airbyte_workspace(airbyte: AirbyteSettings) -> BaseAirbyteWorkspace:
    """The workspace resource: self-managed Airbyte when ``AIRBYTE_REST_API_BASE_URL`` is
    set (client credentials or, failing those, username and password), else Airbyte Cloud.
    Every secret is an ``EnvVar``: resolved at launch, never shown in the UI or logs."""
    common: dict[str, Any] = {
        "workspace_id": dg.EnvVar("AIRBYTE_WORKSPACE_ID"),
        # A retried step (run retries, IO_RETRY) finds its earlier sync still running:
        # keep polling that one instead of failing with "already running".
        "poll_previous_running_sync": True,
        "poll_timeout": airbyte.poll_timeout_s,
        "poll_interval": airbyte.poll_interval_s,
    }
    if not airbyte.rest_api_base_url:
        return AirbyteCloudWorkspace(
            client_id=dg.EnvVar("AIRBYTE_CLIENT_ID"),
            client_secret=dg.EnvVar("AIRBYTE_CLIENT_SECRET"),
            **common,
        )
    if airbyte.client_id:
        auth: dict[str, Any] = {
            "client_id": dg.EnvVar("AIRBYTE_CLIENT_ID"),
            "client_secret": dg.EnvVar("AIRBYTE_CLIENT_SECRET"),
        }
    elif airbyte.username:
        auth = {
            "username": dg.EnvVar("AIRBYTE_USERNAME"),
            "password": dg.EnvVar("AIRBYTE_PASSWORD"),
        }
    else:
        auth = {}  # an Airbyte behind a network boundary, without API auth
    return AirbyteWorkspace(
        rest_api_base_url=dg.EnvVar("AIRBYTE_REST_API_BASE_URL"),
        configuration_api_base_url=dg.EnvVar("AIRBYTE_CONFIGURATION_API_BASE_URL"),
        **auth,
        **common,
    )


# Only these fields of a finished job reach the asset's metadata: an allow-list, so a
# future Airbyte response carrying configuration can never leak into the UI.
_JOB_FIELDS = {
    "jobId": "airbyte_job_id",
    "status": "status",
    "rowsSynced": "rows_synced",
    "bytesSynced": "bytes_synced",
    "duration": "duration",
    "startTime": "started_at",
}


def sync_metadata(job: Mapping[str, Any], connection: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        name: job[field] for field, name in _JOB_FIELDS.items() if job.get(field) is not None
    }
    if connection.get("name"):
        meta["connection_name"] = str(connection["name"])
    return meta


def airbyte_sync_asset(source: str, connection_id: str, settings: Settings) -> dg.AssetsDefinition:
    spec = SPECS[source]

    @dg.asset(
        key=airbyte_asset_key(source),
        group_name=AIRBYTE_GROUP,
        kinds={"airbyte", warehouse_kind(settings)},
        owners=OWNERS,
        tags={"source": source},
        retry_policy=IO_RETRY,
        metadata={"airbyte_connection_id": connection_id},
        description=(
            f"The Airbyte connection that syncs {source} into the warehouse's Airbyte raw "
            f"tables, which {spec.raw_asset} reads. Materializing it starts a sync and "
            "waits for it (a sync already running is waited for, not duplicated)."
        ),
    )
    def sync(
        context: dg.AssetExecutionContext, airbyte: BaseAirbyteWorkspace
    ) -> dg.MaterializeResult:
        output = airbyte.get_client().sync_and_poll(connection_id=connection_id)
        meta = sync_metadata(output.job_details, output.connection_details)
        context.log.info(
            f"airbyte {source}: job {meta.get('airbyte_job_id')} {meta.get('status')}, "
            f"{meta.get('rows_synced', '?')} rows"
        )
        return dg.MaterializeResult(metadata=meta)

    return sync


def build_airbyte_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    if settings.profile is not Profile.PROD:
        return []
    return [
        airbyte_sync_asset(source, cid, settings)
        for source, cid in settings.airbyte.connection_ids().items()
    ]


def with_airbyte_lineage(defs: dg.Definitions, settings: Settings) -> dg.Definitions:
    """``defs`` with each Airbyte-fed raw asset depending on its sync asset.

    The raw assets are built in ``assets/sources.py`` for every profile, so the edge can
    only be added where everything is merged (the root ``definitions.py``). With it, the
    raw asset's hourly ``on_cron`` waits for that hour's sync instead of racing it.
    """
    connected = settings.airbyte.connection_ids()
    if settings.profile is not Profile.PROD or not connected:
        return defs
    upstream = {raw_key(s): airbyte_asset_key(s) for s in connected}

    def add_dep(spec: dg.AssetSpec) -> dg.AssetSpec:
        parent = upstream.get(spec.key)
        if parent is None or any(d.asset_key == parent for d in spec.deps):
            return spec
        return spec.replace_attributes(deps=[*spec.deps, parent])

    return defs.map_resolved_asset_specs(
        func=add_dep, selection=dg.AssetSelection.assets(*upstream)
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_airbyte_assets(current_settings()))
