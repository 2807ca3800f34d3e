"""The active profile and where things live.

Read late (inside ``definitions()`` and the CLI), never at import, so tests can switch
profiles by setting environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path


class Profile(StrEnum):
    LOCAL = "local"
    PROD = "prod"


REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"
# The first day the daily partitions cover: before it there is no data to backfill, so
# partitions there would only show as "missing" and make "Materialize all" useless.
DEFAULT_DATA_START = date(2026, 8, 26)


@dataclass(frozen=True)
class Settings:
    profile: Profile
    data_dir: Path
    data_start: date = DEFAULT_DATA_START

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def lancedb_dir(self) -> Path:
        return self.data_dir / "lancedb"

    @property
    def webhook_landing_dir(self) -> Path:
        return self.data_dir / "webhooks"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def checkpoint_dir(self) -> Path:
        return self.data_dir / "checkpoints"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    raw_profile = env.get("SOPHIA_PROFILE", Profile.LOCAL.value).strip().lower()
    try:
        profile = Profile(raw_profile)
    except ValueError:
        choices = ", ".join(p.value for p in Profile)
        raise ValueError(f"SOPHIA_PROFILE={raw_profile!r} is not one of: {choices}") from None
    data_dir = Path(env.get("SOPHIA_DATA_DIR", ".sophia")).expanduser().resolve()
    raw_start = env.get("SOPHIA_DATA_START", "").strip()
    try:
        data_start = date.fromisoformat(raw_start) if raw_start else DEFAULT_DATA_START
    except ValueError:
        raise ValueError(f"SOPHIA_DATA_START={raw_start!r} is not a YYYY-MM-DD date") from None
    return Settings(profile=profile, data_dir=data_dir, data_start=data_start)
