"""Retry and backfill policies shared by the asset modules."""

from __future__ import annotations

import dagster as dg

# Transient I/O failures (a locked DuckDB file, a dropped Snowflake session, a Pinecone
# 5xx) are retried by Dagster with exponential, jittered backoff.
IO_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

SINGLE_RUN = dg.BackfillPolicy.single_run()

OWNERS = ["team:data-platform"]
