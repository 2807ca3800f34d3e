"""Retry, backfill and automation policies shared by the asset modules."""

from __future__ import annotations

from typing import Any

import dagster as dg

from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.settings import Settings

# Transient I/O failures (a locked DuckDB file, a dropped Snowflake session, a Pinecone
# 5xx) are retried by Dagster with exponential, jittered backoff.
IO_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

SINGLE_RUN = dg.BackfillPolicy.single_run()

OWNERS = ["team:data-platform"]

# For unpartitioned assets below daily-partitioned inputs: plain eager() would wait for
# every past partition of its inputs to exist ("any deps missing"), i.e. forever.
# Without that clause it runs whenever any input partition is updated (and not while
# an input is still being materialized).
ON_INPUT_CHANGE = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager_on_input_change")
)


def daily_io_asset(settings: Settings, **kwargs: Any) -> dict[str, Any]:
    """The settings every daily, I/O-doing asset shares, plus its own ``kwargs``: one
    partitions definition (from ``settings``), single-run backfills, the I/O retry
    policy, the owners."""
    return {
        "partitions_def": daily_partitions(settings),
        "backfill_policy": SINGLE_RUN,
        "retry_policy": IO_RETRY,
        "owners": OWNERS,
        **kwargs,
    }
