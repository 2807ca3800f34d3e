"""Every resource, registered once, for the active profile.

Local: DuckDB, LanceDB, Redis when reachable (else an in-process cache), all under the
data directory. Prod: Snowflake, Pinecone and Redis from environment variables passed as
``EnvVar`` (resolved at launch, never shown in the UI); a missing one stops the code
location from loading, with its name in the message.

Source readers in prod, per source, by what is configured (whether a variable is set,
as ``Settings`` knows it, decides at load; a secret's value is only read at launch,
through ``EnvVar``):

- gong, hubspot, linear: Airbyte raw tables when the workspace and the source's
  connection are configured, else the source's API when its token is set, else landing
  files;
- apollo: the API (delta cursor) when ``APOLLO_API_KEY`` is set; github: events polling
  when ``GITHUB_TOKEN`` and ``GITHUB_REPOS`` are; else landing files;
- costar: checkpointed batch files from ``COSTAR_BATCH_DIR`` (default: the landing
  folder); slack: landing files (exports); live Slack and GitHub events come through the
  webhook receiver, whose sensors hand each batch to the raw asset's run.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from sophia_pipeline.defs.airbyte import airbyte_workspace
from sophia_pipeline.resources.alerts import CompetitorAlertRules, WebhookAlertPoster
from sophia_pipeline.resources.cache import CacheResource
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.llm_gateway import LLMGateway
from sophia_pipeline.resources.local_stores import local_vector_store, local_warehouse
from sophia_pipeline.resources.pinecone_store import PineconeVectorStore
from sophia_pipeline.resources.prod_readers import (
    AirbyteTableReader,
    ApolloApiReader,
    CoStarBatchReader,
    GitHubApiReader,
    GongApiReader,
    HubSpotApiReader,
    LinearApiReader,
)
from sophia_pipeline.resources.source_readers import LandingFilesReader, SourceReader
from sophia_pipeline.settings import PROD_REQUIRED, Profile, Settings, current_settings
from sophia_pipeline.sources.registry import SPECS, raw_tables
from sophia_pipeline.store.warehouse import Warehouse


class MissingCredentialError(RuntimeError):
    pass


def require_env(settings: Settings, names: tuple[str, ...]) -> None:
    missing = settings.unset(names)
    if missing:
        raise MissingCredentialError(
            "SOPHIA_PROFILE=prod needs these environment variables, unset: " + ", ".join(missing)
        )


def landing_readers(settings: Settings) -> dict[str, object]:
    reader = LandingFilesReader(landing_dir=str(settings.landing_dir))
    return {f"{name}_source": reader for name in SPECS}


# Credentials of each source's direct API reader: all must be set for it to be used.
API_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "gong": ("GONG_ACCESS_KEY", "GONG_ACCESS_KEY_SECRET"),
    "hubspot": ("HUBSPOT_ACCESS_TOKEN",),
    "linear": ("LINEAR_API_KEY",),
    "apollo": ("APOLLO_API_KEY",),
    "github": ("GITHUB_TOKEN", "GITHUB_REPOS"),
}


def _configured(settings: Settings, source: str) -> bool:
    return not settings.unset(API_CREDENTIALS[source])


def _api_options(base_url: str | None) -> dict[str, Any]:
    # Base URLs are not secrets: a Gong tenant has its own API host, and tests point
    # readers at local servers.
    options: dict[str, Any] = {"redis_url": dg.EnvVar("REDIS_URL")}
    if base_url:
        options["base_url"] = base_url
    return options


def prod_readers(settings: Settings, warehouse: Warehouse) -> dict[str, SourceReader]:
    """The production reader of every source that has one configured, by resource key.
    Sources left out keep their landing-file reader."""
    apis = settings.sources
    readers: dict[str, SourceReader] = {}
    for source in settings.airbyte.connection_ids():
        readers[source] = AirbyteTableReader(
            warehouse=warehouse,
            raw_schema=settings.airbyte.raw_schema,
            namespace=settings.airbyte.namespace(source),
        )
    if "gong" not in readers and _configured(settings, "gong"):
        readers["gong"] = GongApiReader(
            access_key=dg.EnvVar("GONG_ACCESS_KEY"),
            access_key_secret=dg.EnvVar("GONG_ACCESS_KEY_SECRET"),
            **_api_options(apis.gong.api_base_url),
        )
    if "hubspot" not in readers and _configured(settings, "hubspot"):
        readers["hubspot"] = HubSpotApiReader(
            access_token=dg.EnvVar("HUBSPOT_ACCESS_TOKEN"),
            **_api_options(apis.hubspot.api_base_url),
        )
    if "linear" not in readers and _configured(settings, "linear"):
        readers["linear"] = LinearApiReader(
            api_key=dg.EnvVar("LINEAR_API_KEY"), **_api_options(apis.linear.api_base_url)
        )
    if _configured(settings, "apollo"):
        readers["apollo"] = ApolloApiReader(
            api_key=dg.EnvVar("APOLLO_API_KEY"),
            initial_cursor=apis.apollo.initial_cursor,
            **_api_options(apis.apollo.api_base_url),
        )
    if _configured(settings, "github"):
        readers["github"] = GitHubApiReader(
            token=dg.EnvVar("GITHUB_TOKEN"),
            repos=apis.github.repo_list,
            **_api_options(apis.github.api_base_url),
        )
    readers["costar"] = CoStarBatchReader(
        batch_dir=apis.costar.batch_dir
        or str(settings.landing_dir / "costar" / SPECS["costar"].folders["property"]),
        warehouse=warehouse,
    )
    return {f"{source}_source": reader for source, reader in readers.items()}


def local_resources(settings: Settings) -> dict[str, object]:
    redis_url = dg.EnvVar("REDIS_URL") if settings.redis_url else "redis://127.0.0.1:6379/0"
    return {
        **landing_readers(settings),
        "warehouse": local_warehouse(settings),
        "vector_store": local_vector_store(settings),
        "cache": CacheResource(redis_url=redis_url),
        "embedder": Embedder(),
    }


def prod_resources(settings: Settings) -> dict[str, object]:
    require_env(settings, PROD_REQUIRED)
    # Imported here, not at the top: the Snowflake client's import takes seconds that
    # every local process (the UI's code server, each CLI run) would pay for nothing.
    from dagster_snowflake import SnowflakeResource

    from sophia_pipeline.store.snowflake_warehouse import SnowflakeWarehouse

    snowflake = SnowflakeResource(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        user=dg.EnvVar("SNOWFLAKE_USER"),
        password=dg.EnvVar("SNOWFLAKE_PASSWORD"),
        database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        role=settings.snowflake.role,
        paramstyle="qmark",
    )
    # One warehouse object: the readers that read it (Airbyte's tables) or write it
    # (CoStar's checkpointed batches) hold the same resource the assets get.
    warehouse = SnowflakeWarehouse(snowflake=snowflake, raw_tables=raw_tables())
    extra: dict[str, object] = {}
    if settings.airbyte.connection_ids():
        extra["airbyte"] = airbyte_workspace(settings.airbyte)
    return {
        # A source without a configured production reader reads landing files (dropped
        # into the data dir by another system).
        **landing_readers(settings),
        **prod_readers(settings, warehouse),
        **extra,
        "warehouse": warehouse,
        "vector_store": PineconeVectorStore(
            api_key=dg.EnvVar("PINECONE_API_KEY"), index_host=dg.EnvVar("PINECONE_INDEX_HOST")
        ),
        "cache": CacheResource(redis_url=dg.EnvVar("REDIS_URL"), require_redis=True),
        "embedder": Embedder(),
    }


def alert_resources(settings: Settings) -> dict[str, object]:
    """The competitor alerts' poster and thresholds (``defs/alerts.py``), both profiles.
    The webhook URL is a secret: it reaches the poster as an EnvVar, resolved at launch."""
    alerts = settings.alerts
    webhook = dg.EnvVar("SOPHIA_ALERT_WEBHOOK_URL") if alerts.webhook_url else None
    return {
        "alert_poster": WebhookAlertPoster(webhook_url=webhook),
        "alert_rules": CompetitorAlertRules(
            mention_threshold=alerts.mention_threshold,
            threat_level_threshold=alerts.threat_level,
            lookback_days=alerts.lookback_days,
        ),
    }


def llm_resources(settings: Settings, warehouse: Warehouse) -> dict[str, object]:
    """The LLM gateway, both profiles: unconfigured (extractive everywhere) without
    ``PORTKEY_API_KEY``. Its keys are secrets (EnvVar); its usage rows go to the same
    warehouse object the assets get."""
    llm = settings.llm
    virtual_key = dg.EnvVar("PORTKEY_VIRTUAL_KEY") if llm.virtual_key else None
    return {
        "llm_gateway": LLMGateway(
            api_key=dg.EnvVar("PORTKEY_API_KEY") if llm.configured else None,
            virtual_key=virtual_key,
            provider=llm.provider,
            base_url=llm.base_url,
            model=llm.model,
            timeout_s=llm.timeout_s,
            max_tokens=llm.max_tokens,
            warehouse=warehouse,
        )
    }


def resources_for(settings: Settings) -> dict[str, object]:
    if settings.profile is Profile.PROD:
        stores = prod_resources(settings)
    else:
        stores = local_resources(settings)
    warehouse = stores["warehouse"]
    assert isinstance(warehouse, Warehouse)
    return {**stores, **alert_resources(settings), **llm_resources(settings, warehouse)}


def _resolved(resource: Any) -> Any:
    """``resource`` with every ``EnvVar`` field (nested resources' too) replaced by the
    variable's value. Dagster resolves them when it launches a run; code that uses a
    resource outside a run (``status``, the end of ``run``) must do it itself, or a
    Snowflake connector gets the variable's *name* as the account."""
    if not isinstance(resource, dg.ConfigurableResource):
        return resource
    fields = {name: getattr(resource, name) for name in type(resource).model_fields}
    updates: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, dg.EnvVar):
            updates[name] = value.get_value()
        elif isinstance(value, dg.ConfigurableResource):
            resolved = _resolved(value)
            if resolved is not value:
                updates[name] = resolved
    return type(resource)(**{**fields, **updates}) if updates else resource


def resolved_resources(settings: Settings) -> dict[str, object]:
    """The active profile's resources for use outside a run, their ``EnvVar``s resolved
    (values stay in memory; nothing is logged or shown)."""
    return {key: _resolved(r) for key, r in resources_for(settings).items()}


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources=resources_for(current_settings()))
