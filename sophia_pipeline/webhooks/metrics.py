"""Prometheus metrics for the webhook receiver.

Each app gets its own registry rather than the process-global default, so several
apps (tests, or one per port) never collide on metric names, and ``/metrics`` shows
exactly this receiver's series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Landing is one write + fsync shared by a batch; sub-millisecond on a good disk,
# tens of ms on a busy one, and anything near Slack's 3 s deadline is an incident.
_LANDING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)

# Label values for ``endpoint`` come from this fixed set so that scanners probing
# random paths cannot blow up the series count.
KNOWN_ENDPOINTS = frozenset(
    {"/webhooks/slack", "/webhooks/github", "/health", "/ready", "/metrics"}
)


class WebhookMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "sophia_webhook_requests_total",
            "HTTP requests by endpoint and response status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "sophia_webhook_request_seconds",
            "Time to handle a request, response included, by endpoint.",
            ["endpoint"],
            buckets=_LANDING_BUCKETS,
            registry=self.registry,
        )
        self.landing_seconds = Histogram(
            "sophia_webhook_landing_seconds",
            "Time to make one event durable (queue + write + fsync), by source.",
            ["source"],
            buckets=_LANDING_BUCKETS,
            registry=self.registry,
        )
        self.dedup_hits = Counter(
            "sophia_webhook_dedup_hits_total",
            "Signed events dropped because their id was already landed.",
            ["source"],
            registry=self.registry,
        )
        self.landed = Counter(
            "sophia_webhook_events_landed_total",
            "Events landed, by source and whether the event type is known.",
            ["source", "kind"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "sophia_webhook_rejected_total",
            "Requests rejected before landing, by source and reason.",
            ["source", "reason"],
            registry=self.registry,
        )
        self.commit_batch = Histogram(
            "sophia_webhook_commit_batch_events",
            "Events per group commit (one fsync).",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )

    @staticmethod
    def endpoint_label(path: str) -> str:
        return path if path in KNOWN_ENDPOINTS else "other"

    def render(self) -> bytes:
        return generate_latest(self.registry)
