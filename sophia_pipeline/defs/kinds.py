"""Storage kinds shown in the UI, by profile."""

from __future__ import annotations

from sophia_pipeline.settings import Profile, Settings


def warehouse_kind(settings: Settings) -> str:
    return "snowflake" if settings.profile is Profile.PROD else "duckdb"


def vector_kind(settings: Settings) -> str:
    return "pinecone" if settings.profile is Profile.PROD else "lancedb"
