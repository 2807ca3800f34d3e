"""The date window a (possibly multi-partition, single-run) materialization covers."""

from __future__ import annotations

from datetime import date

import dagster as dg


def window_of(context: dg.AssetExecutionContext) -> tuple[date, date]:
    tw = context.partition_time_window
    return tw.start.date(), tw.end.date()


def window_label(context: dg.AssetExecutionContext) -> str:
    start, end = window_of(context)
    return f"{start}..{end}"
