"""The date window a (possibly multi-partition, single-run) materialization covers, and
what each partition of it holds.

A single-run backfill over N days emits N materialization events. Metadata returned in
the ``MaterializeResult`` lands on every one of them, so it is only ever about the whole
window and its keys say so (``window_*``). What one day holds is attached to that day's
event with ``context.add_asset_metadata(..., partition_key=...)`` (Dagster 1.13 merges
partition-scoped metadata over the result's), under the plain names the per-partition
plots read (``chunks``, ``records_stored``, ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import dagster as dg

from sophia_pipeline.processing.frames import as_day


def window_of(context: dg.AssetExecutionContext) -> tuple[date, date]:
    tw = context.partition_time_window
    return tw.start.date(), tw.end.date()


def window_label(context: dg.AssetExecutionContext) -> str:
    start, end = window_of(context)
    return f"{start}..{end}"


def count_by_day(days: Iterable[Any]) -> Counter[date]:
    return Counter(as_day(d) for d in days)


def window_metadata(context: dg.AssetExecutionContext, **totals: Any) -> dict[str, Any]:
    """The result's metadata: ``window`` plus each total as ``window_<name>``."""
    return {"window": window_label(context), **{f"window_{k}": v for k, v in totals.items()}}


def report_per_partition(
    context: dg.AssetExecutionContext,
    per_day: Mapping[str, Mapping[date, Any]],
    default: Any = 0,
) -> None:
    """Attach to each partition's event what that day holds: ``per_day`` maps a metadata
    name to its value by day; a day absent from a mapping gets ``default``."""
    for key in context.partition_keys:
        day = date.fromisoformat(key)
        context.add_asset_metadata(
            {name: _plain(values.get(day, default)) for name, values in per_day.items()},
            partition_key=key,
        )


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as Python ones (Dagster's metadata takes only those)."""
    return value.item() if hasattr(value, "item") else value
