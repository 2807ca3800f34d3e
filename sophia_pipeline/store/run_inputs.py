"""The record of the last successful ``sophia-pipeline run``: the inputs it ran on and
what the stores held after it (``ops.cli_run`` and ``ops.cli_run_days``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sophia_pipeline.processing.frames import as_day

from .common import Reader, now_utc
from .executive import DASHBOARD_TABLE

if TYPE_CHECKING:  # reading needs no Dagster import (the warehouse resource's)
    from .warehouse import Warehouse

TABLES = frozenset({"ops.cli_run", "ops.cli_run_days"})
# Views computed "as of today" (a rolling window over CURRENT_DATE): their row counts
# change from one day to the next with no write, so they say nothing of the stores.
AS_OF_TODAY = frozenset({DASHBOARD_TABLE})


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    code_fingerprint: str
    as_of_day: date
    store_counts: dict[str, int]
    days: dict[tuple[str, date], str]  # (source, day) -> fingerprint


def read_last_run(wh: Reader, existing: set[str]) -> StoredRun | None:
    """The record, or None where there is none (or the tables do not exist yet:
    ``existing`` is ``existing_tables()``, so a read-only reader creates nothing)."""
    if not TABLES.issubset(existing):
        return None
    head = wh.query("SELECT run_id, code_fingerprint, as_of_day, store_counts FROM ops.cli_run")
    if len(head) != 1:
        return None
    row = head.iloc[0]
    days = wh.query("SELECT source, day, fingerprint FROM ops.cli_run_days")
    return StoredRun(
        run_id=str(row["run_id"]),
        code_fingerprint=str(row["code_fingerprint"]),
        as_of_day=as_day(row["as_of_day"]),
        store_counts={str(k): int(v) for k, v in json.loads(row["store_counts"]).items()},
        days={
            (str(s), as_day(d)): str(f)
            for s, d, f in zip(days["source"], days["day"], days["fingerprint"], strict=True)
        },
    )


def record_run(wh: Warehouse, run: StoredRun) -> None:
    """Replaces the record with ``run``, both tables in one transaction."""
    with wh.transaction() as tx:
        tx.execute("DELETE FROM ops.cli_run")
        tx.execute("DELETE FROM ops.cli_run_days")
        tx.insert(
            "ops.cli_run",
            [
                {
                    "run_id": run.run_id,
                    "code_fingerprint": run.code_fingerprint,
                    "as_of_day": run.as_of_day,
                    "store_counts": json.dumps(run.store_counts, sort_keys=True),
                    "recorded_at": now_utc(),
                }
            ],
        )
        tx.insert(
            "ops.cli_run_days",
            [
                {"source": source, "day": day, "fingerprint": fingerprint}
                for (source, day), fingerprint in sorted(run.days.items())
            ],
        )


def comparable_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """The row counts that only a write changes: without this record's own tables and
    the views that move with the calendar."""
    return {name: n for name, n in counts.items() if name not in TABLES | AS_OF_TODAY}
