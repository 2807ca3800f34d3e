"""Plain HTTP clients for the source APIs (no Dagster here; resources wrap them).

Each takes a token and a ``base_url`` (default: the real API), an optional Redis (URL or
bytes-returning client) that its circuit breaker and rate limiter share across workers,
and an optional :class:`~sophia_pipeline.reliability.HttpClientConfig`. Each exposes
paging generators or delta fetches that yield every record once.
"""

from .apollo import ApolloClient, DeltaCursor, advance_cursor, record_key, select_new
from .github import EventsPoll, GitHubEventsClient
from .gong import GongClient
from .hubspot import CURSOR_PROPERTY, HubSpotClient
from .linear import LinearClient

__all__ = [
    "CURSOR_PROPERTY",
    "ApolloClient",
    "DeltaCursor",
    "EventsPoll",
    "GitHubEventsClient",
    "GongClient",
    "HubSpotClient",
    "LinearClient",
    "advance_cursor",
    "record_key",
    "select_new",
]
