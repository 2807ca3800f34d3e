"""The one daily partitions definition every time-partitioned asset shares."""

from __future__ import annotations

import dagster as dg

PARTITIONS_START = "2025-01-01"

# end_offset=1: today's partition exists, so calls landed today can be loaded today.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)
