"""Retry and backfill policies shared by the asset modules."""

from __future__ import annotations

from typing import Any

import dagster as dg

from sophia_pipeline.partitions import daily_partitions

# Transient I/O failures (a locked DuckDB file, a dropped Snowflake session, a Pinecone
# 5xx) are retried by Dagster with exponential, jittered backoff.
IO_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

SINGLE_RUN = dg.BackfillPolicy.single_run()

OWNERS = ["team:data-platform"]


def daily_io_asset(**kwargs: Any) -> dict[str, Any]:
    """The settings every daily, I/O-doing asset shares, plus its own ``kwargs``: one
    partitions definition, single-run backfills, the I/O retry policy, the owners."""
    return {
        "partitions_def": daily_partitions,
        "backfill_policy": SINGLE_RUN,
        "retry_policy": IO_RETRY,
        "owners": OWNERS,
        **kwargs,
    }
