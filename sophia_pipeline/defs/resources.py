"""Every resource, registered once, for the active profile.

Local: DuckDB, LanceDB, Redis when reachable (else an in-process cache), all under the
data directory. Prod: Snowflake, Pinecone and Redis from environment variables passed as
``EnvVar`` (resolved at launch, never shown in the UI); a missing one stops the code
location from loading, with its name in the message.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_snowflake import SnowflakeResource

from sophia_pipeline.resources.cache import CacheResource
from sophia_pipeline.resources.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.resources.pinecone_store import PineconeVectorStore
from sophia_pipeline.resources.snowflake_warehouse import SnowflakeWarehouse
from sophia_pipeline.resources.source_readers import LandingFilesReader
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
    return {
        # Until a source's production reader is configured it reads landing files (dropped
        # into the data dir by another system), which is also what CoStar batches are.
        **landing_readers(settings),
        "warehouse": SnowflakeWarehouse(snowflake=snowflake),
        "vector_store": PineconeVectorStore(
            api_key=dg.EnvVar("PINECONE_API_KEY"), index_host=dg.EnvVar("PINECONE_INDEX_HOST")
        ),
        "cache": CacheResource(redis_url=dg.EnvVar("REDIS_URL"), require_redis=True),
        "embedder": Embedder(),
    }


def resources_for(settings: Settings) -> dict[str, object]:
    if settings.profile is Profile.PROD:
        return prod_resources(settings)
    return local_resources(settings)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources=resources_for(load_settings()))
