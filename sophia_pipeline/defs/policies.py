"""Retry, backfill and automation policies shared by the asset modules."""

from __future__ import annotations

import json
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


# Resources of one embedding step when steps run as Kubernetes Jobs (SOPHIA_STEP_EXECUTOR=k8s):
# the model and a batch of texts need more than the 512Mi/250m a run pod gets, and torch
# uses every core it is given. dagster-k8s reads this op tag (not an asset tag: asset tag
# values cannot hold JSON) for the step's pod; the multiprocess executor ignores it.
EMBED_STEP_RESOURCES = {
    "requests": {"cpu": "2", "memory": "3Gi"},
    "limits": {"cpu": "4", "memory": "6Gi"},
}
EMBED_STEP_OP_TAGS = {
    "dagster-k8s/config": json.dumps({"container_config": {"resources": EMBED_STEP_RESOURCES}})
}


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
