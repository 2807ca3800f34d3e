"""Real-time webhooks: a signed, durable Slack/GitHub receiver and its landing store.

The receiver (``create_app`` / ``serve``) verifies each request, lands accepted events
durably in a :class:`LandingStore` before answering, and de-duplicates by the sender's
event id. The Dagster sensors read the same store with ``read_after`` / ``count_after``
from their own process. Nothing here imports Dagster.
"""

from sophia_pipeline.webhooks.landing import (
    LandedEvent,
    LandingError,
    LandingStore,
    LandingStoreClosedError,
    LandingStoreLockedError,
    LocalFolderBackend,
    SegmentBackend,
    SegmentFile,
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
    "LandingStoreLockedError",
    "LocalFolderBackend",
    "SegmentBackend",
    "SegmentFile",
    "UnstorablePayloadError",
    "Verdict",
    "github_signature",
    "slack_signature",
    "verify_github",
    "verify_slack",
]
