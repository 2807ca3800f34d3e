"""Real-time webhooks: a signed, durable Slack/GitHub receiver and its landing store.

The receiver (``create_app`` / ``serve``) verifies each request, lands accepted events
durably through a :class:`LandingStore` (group commit in front of the configured backend
of ``store/landing``: SQLite on one machine, S3-compatible object storage for many
receivers) before answering, and de-duplicates by the sender's event id. The Dagster
sensors read the same backend from their own process. Nothing here imports Dagster.
"""

from sophia_pipeline.webhooks.landing import (
    LandedEvent,
    LandingError,
    LandingStore,
    LandingStoreClosedError,
    UnstorablePayloadError,
)
from sophia_pipeline.webhooks.signatures import (
    Verdict,
    github_signature,
    slack_signature,
    verify_github,
    verify_slack,
)

__all__ = [
    "LandedEvent",
    "LandingError",
    "LandingStore",
    "LandingStoreClosedError",
    "UnstorablePayloadError",
    "Verdict",
    "github_signature",
    "slack_signature",
    "verify_github",
    "verify_slack",
]
