"""Every resource, registered once, for the active profile.

Local: DuckDB, LanceDB, Redis when reachable (else an in-process cache), all under the
data directory. Prod: Snowflake, Pinecone and Redis from environment variables passed as
``EnvVar`` (resolved at launch, never shown in the UI); a missing one stops the code
location from loading, with its name in the message.

Source readers in prod, per source, by what is configured (the presence of a variable
decides at load; its value is only read at launch, through ``EnvVar``):

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

import os
from collections.abc import Mapping

import dagster as dg
from dagster_snowflake import SnowflakeResource

from sophia_pipeline.defs.airbyte import airbyte_connection_ids, airbyte_workspace
from sophia_pipeline.resources.alerts import CompetitorAlertRules, WebhookAlertPoster
from sophia_pipeline.resources.cache import CacheResource
from sophia_pipeline.resources.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
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
from sophia_pipeline.resources.snowflake_warehouse import SnowflakeWarehouse
from sophia_pipeline.resources.source_readers import LandingFilesReader, SourceReader
from sophia_pipeline.resources.warehouse import Warehouse
from sophia_pipeline.settings import Profile, Settings, load_settings
from sophia_pipeline.sources.registry import SPECS

PROD_REQUIRED = (
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_DATABASE",
    "SNOWFLAKE_WAREHOUSE",
    "PINECONE_API_KEY",
    "PINECONE_INDEX_HOST",
    "REDIS_URL",
)


class MissingCredentialError(RuntimeError):
    pass


def require_env(names: tuple[str, ...], environ: dict[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    missing = [n for n in names if not env.get(n)]
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


def _configured(names: tuple[str, ...], env: Mapping[str, str]) -> bool:
    return all(env.get(n) for n in names)


def _api_options(source: str, env: Mapping[str, str]) -> dict[str, object]:
    # Base URLs are not secrets: a Gong tenant has its own API host, and tests point
    # readers at local servers.
    options: dict[str, object] = {"redis_url": dg.EnvVar("REDIS_URL")}
    if env.get(f"{source.upper()}_API_BASE_URL"):
        options["base_url"] = env[f"{source.upper()}_API_BASE_URL"]
    return options


def prod_readers(
    settings: Settings,
    warehouse: Warehouse,
    environ: Mapping[str, str] | None = None,
) -> dict[str, SourceReader]:
    """The production reader of every source that has one configured, by resource key.
    Sources left out keep their landing-file reader."""
    env = os.environ if environ is None else environ
    readers: dict[str, SourceReader] = {}
    airbyte = airbyte_connection_ids(env)
    for source in airbyte:
        readers[source] = AirbyteTableReader(
            warehouse=warehouse,
            raw_schema=env.get("AIRBYTE_RAW_SCHEMA") or "airbyte_internal",
            namespace=env.get(f"AIRBYTE_{source.upper()}_NAMESPACE") or source,
        )
    if "gong" not in readers and _configured(API_CREDENTIALS["gong"], env):
        readers["gong"] = GongApiReader(
            access_key=dg.EnvVar("GONG_ACCESS_KEY"),
            access_key_secret=dg.EnvVar("GONG_ACCESS_KEY_SECRET"),
            **_api_options("gong", env),
        )
    if "hubspot" not in readers and _configured(API_CREDENTIALS["hubspot"], env):
        readers["hubspot"] = HubSpotApiReader(
            access_token=dg.EnvVar("HUBSPOT_ACCESS_TOKEN"), **_api_options("hubspot", env)
        )
    if "linear" not in readers and _configured(API_CREDENTIALS["linear"], env):
        readers["linear"] = LinearApiReader(
            api_key=dg.EnvVar("LINEAR_API_KEY"), **_api_options("linear", env)
        )
    if _configured(API_CREDENTIALS["apollo"], env):
        readers["apollo"] = ApolloApiReader(
            api_key=dg.EnvVar("APOLLO_API_KEY"),
            warehouse=warehouse,
            initial_cursor=env.get("APOLLO_INITIAL_CURSOR") or None,
            **_api_options("apollo", env),
        )
    if _configured(API_CREDENTIALS["github"], env):
        readers["github"] = GitHubApiReader(
            token=dg.EnvVar("GITHUB_TOKEN"),
            repos=[r.strip() for r in env["GITHUB_REPOS"].split(",") if r.strip()],
            warehouse=warehouse,
            **_api_options("github", env),
        )
    readers["costar"] = CoStarBatchReader(
        batch_dir=env.get("COSTAR_BATCH_DIR")
        or str(settings.landing_dir / "costar" / SPECS["costar"].folders["property"]),
        warehouse=warehouse,
    )
    return {f"{source}_source": reader for source, reader in readers.items()}


def local_resources(settings: Settings) -> dict[str, object]:
    redis_url = (
        dg.EnvVar("REDIS_URL") if os.environ.get("REDIS_URL") else "redis://127.0.0.1:6379/0"
    )
    return {
        **landing_readers(settings),
        "warehouse": DuckDBWarehouse(path=str(settings.duckdb_path)),
        "vector_store": LanceDBVectorStore(uri=str(settings.lancedb_dir)),
        "cache": CacheResource(redis_url=redis_url),
        "embedder": Embedder(),
    }


def prod_resources(settings: Settings) -> dict[str, object]:
    require_env(PROD_REQUIRED)
    snowflake = SnowflakeResource(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        user=dg.EnvVar("SNOWFLAKE_USER"),
        password=dg.EnvVar("SNOWFLAKE_PASSWORD"),
        database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        role=os.environ.get("SNOWFLAKE_ROLE"),
        paramstyle="qmark",
    )
    # One warehouse object: the readers that commit rows with their cursor or
    # checkpoint hold the same resource the assets get under "warehouse".
    warehouse = SnowflakeWarehouse(snowflake=snowflake)
    extra: dict[str, object] = {}
    if airbyte_connection_ids():
        extra["airbyte"] = airbyte_workspace()
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


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def alert_resources() -> dict[str, object]:
    """The competitor alerts' poster and thresholds (``defs/alerts.py``), both profiles."""
    webhook = (
        dg.EnvVar("SOPHIA_ALERT_WEBHOOK_URL")
        if os.environ.get("SOPHIA_ALERT_WEBHOOK_URL")
        else None
    )
    return {
        "alert_poster": WebhookAlertPoster(webhook_url=webhook),
        "alert_rules": CompetitorAlertRules(
            mention_threshold=_int_env("SOPHIA_ALERT_MENTION_THRESHOLD", 5),
            threat_level_threshold=_int_env("SOPHIA_ALERT_THREAT_LEVEL", 4),
            lookback_days=_int_env("SOPHIA_ALERT_LOOKBACK_DAYS", 7),
        ),
    }


def resources_for(settings: Settings) -> dict[str, object]:
    if settings.profile is Profile.PROD:
        return {**prod_resources(settings), **alert_resources()}
    return {**local_resources(settings), **alert_resources()}


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources=resources_for(load_settings()))
