"""The one daily partitions definition every time-partitioned asset shares.

Built from the settings (``SOPHIA_DATA_START``) when the definitions load, never at
import: the first partition is the first day with data, so the UI shows no years of
"missing" partitions and "Materialize all" backfills only days that can hold data.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from sophia_pipeline.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """The daily partitions from ``settings.data_start``; end_offset=1: today's partition
    exists, so calls landed today can be loaded today. Equal settings give equal
    definitions, so assets built separately still share one partitions definition."""
    return dg.DailyPartitionsDefinition(start_date=settings.data_start.isoformat(), end_offset=1)


def partition_key(settings: Settings, day: date) -> str | None:
    """``day``'s partition key, or None before the data start (no partition there)."""
    return day.isoformat() if day >= settings.data_start else None
