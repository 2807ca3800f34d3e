"""The read API's dependencies for the active profile, built from the settings.

Serving runs outside Dagster, where an ``EnvVar`` is never resolved (RELIABILITY.md), so
secrets are taken from the settings' ``SecretStr`` values here, in this process only:
they are handed to the client libraries, never logged or put in a response. The
warehouse is opened read-only and never creates its schema: serving only reads what runs
wrote.
"""

from __future__ import annotations

from sophia_pipeline.resources.cache import CacheResource
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.resources.llm_gateway import gateway_from_settings
from sophia_pipeline.resources.pinecone_store import PineconeVectorStore
from sophia_pipeline.settings import PROD_REQUIRED, Profile, Settings, SettingsError
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse

from .service import Dependencies

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else str(value or "")


def dependencies_for(settings: Settings) -> Dependencies:
    redis_url = _secret(settings.redis_url) if settings.redis_url else None
    if settings.profile is Profile.PROD:
        missing = settings.unset(PROD_REQUIRED)
        if missing:
            raise SettingsError(
                "SOPHIA_PROFILE=prod: the read API needs these variables, unset: "
                + ", ".join(missing)
            )
        from dagster_snowflake import SnowflakeResource

        from sophia_pipeline.store.snowflake_warehouse import SnowflakeWarehouse

        sf = settings.snowflake
        warehouse = SnowflakeWarehouse(
            snowflake=SnowflakeResource(
                account=sf.account or "",
                user=sf.user or "",
                password=_secret(sf.password),
                database=sf.database or "",
                warehouse=sf.warehouse or "",
                role=sf.role,
                paramstyle="qmark",
            ),
            create_schema=False,
        )
        return Dependencies(
            warehouse=warehouse,
            llm=gateway_from_settings(settings, warehouse),
            vector_store=PineconeVectorStore(
                api_key=_secret(settings.pinecone.api_key),
                index_host=settings.pinecone.index_host or "",
            ),
            cache=CacheResource(redis_url=redis_url, require_redis=True),
            embedder=Embedder(),
        )
    # LanceDB's import (about two seconds; the store imports it where it is used) is paid
    # here, at start-up, not inside the first request's deadline.
    import lancedb  # noqa: F401

    # The LLM's usage rows are the one thing serving writes: through a separate
    # read-write handle (DuckDB opens per call, so it holds the file only while writing).
    usage = DuckDBWarehouse(path=str(settings.duckdb_path), create_schema=False)
    return Dependencies(
        warehouse=DuckDBWarehouse(
            path=str(settings.duckdb_path), read_only=True, create_schema=False
        ),
        llm=gateway_from_settings(settings, usage),
        vector_store=LanceDBVectorStore(uri=str(settings.lancedb_dir)),
        cache=CacheResource(redis_url=redis_url or LOCAL_REDIS),
        embedder=Embedder(),
    )
