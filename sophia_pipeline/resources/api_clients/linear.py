"""Linear GraphQL API: issues, incrementally by ``updatedAt``.

One query shape: ``issues(first, after, orderBy: updatedAt, includeArchived: true,
filter: {updatedAt: {gt: $cursor}})`` paged by Relay ``pageInfo {hasNextPage
endCursor}``. Archived issues are included so archiving reaches the delete path.

The next cursor is the largest ``updatedAt`` actually received, never "now": an issue
updated while we page is either received in this run or has a newer ``updatedAt`` than
anything we saw, so the next run (``gt`` the cursor) picks it up.

Limits are leaky buckets on requests and on query complexity (figures unconfirmed,
configure them). A rate-limited answer (HTTP 429, or a GraphQL error with code
``RATELIMITED``, which Linear may send with HTTP 400) is retried after the reset time
Linear reports. Any other GraphQL error is a bug in our query: it fails at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from sophia_pipeline.reliability import (
    GraphQLError,
    HttpClientConfig,
    InvalidResponseError,
    RateLimit,
    RateLimitSignal,
    ResilientHttpClient,
)
from sophia_pipeline.reliability.breaker import RedisLike
from sophia_pipeline.reliability.http import retry_after_from
from sophia_pipeline.reliability.retry import parse_http_date

from .base import ApiClient

DEFAULT_BASE_URL = "https://api.linear.app"
GRAPHQL_PATH = "/graphql"
# Linear publishes a leaky bucket of about 1,500 requests/hour per API key (unconfirmed:
# configure it). GCRA with a burst *is* a leaky bucket; the rate sits below the figure so
# that a full burst on top still stays under it.
DEFAULT_RATE_LIMIT = RateLimit(requests=1200, period_s=3600.0, burst=20)

ISSUES_QUERY = """
query SophiaIssues($first: Int!, $after: String, $updatedAfter: DateTimeOrDuration!) {
  issues(
    first: $first
    after: $after
    orderBy: updatedAt
    includeArchived: true
    filter: { updatedAt: { gt: $updatedAfter } }
  ) {
    nodes {
      id
      identifier
      title
      description
      priority
      estimate
      url
      createdAt
      updatedAt
      archivedAt
      canceledAt
      completedAt
      state { id name type }
      team { id key name }
      assignee { id name email }
      project { id name }
      labels { nodes { id name } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _error_codes(payload: Any) -> tuple[str, ...]:
    if not isinstance(payload, dict):
        return ()
    codes = []
    for err in payload.get("errors") or []:
        ext = (err.get("extensions") or {}) if isinstance(err, dict) else {}
        code = ext.get("code") if isinstance(ext, dict) else None
        if code:
            codes.append(str(code))
    return tuple(codes)


def linear_rate_limit_detector(response: httpx.Response) -> RateLimitSignal | None:
    """429, or a ``RATELIMITED`` GraphQL error under any status, is a rate limit."""
    limited = response.status_code == 429
    # Cheap byte check first: this runs on every response, most of them large and fine.
    if not limited and response.status_code in (200, 400) and b"RATELIMITED" in response.content:
        try:
            limited = "RATELIMITED" in _error_codes(response.json())
        except (ValueError, UnicodeDecodeError):
            return None
    if not limited:
        return None
    wait = retry_after_from(response)
    if wait is None:
        wait = _reset_wait(response)
    return RateLimitSignal(wait)


def _reset_wait(response: httpx.Response) -> float | None:
    # Linear reports the bucket's reset as epoch milliseconds.
    stamps = []
    for header in ("x-ratelimit-requests-reset", "x-ratelimit-complexity-reset"):
        try:
            stamps.append(int(response.headers[header]) / 1000)
        except (KeyError, ValueError):
            continue
    if not stamps:
        return None
    server_now = parse_http_date(response.headers.get("date"))
    now = server_now.timestamp() if server_now else time.time()
    return max(0.0, max(stamps) - now)


def linear_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Linear cursors need timezone-aware datetimes")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_linear_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class LinearClient(ApiClient):
    """Read-only Linear client. ``token``: a personal API key (sent bare) or, with
    ``auth_scheme="Bearer"``, an OAuth access token."""

    NAME = "linear"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        redis: RedisLike | None = None,
        config: HttpClientConfig | None = None,
        auth_scheme: str | None = None,
        page_size: int = 50,
    ) -> None:
        self.page_size = page_size
        auth = f"{auth_scheme} {token}" if auth_scheme else token
        self.http = ResilientHttpClient.build(
            self.NAME,
            base_url,
            redis=redis,
            config=config,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            secret_headers={"Authorization": auth},
            extra_secrets=[token],
            headers={"Content-Type": "application/json"},
            rate_limit_detector=linear_rate_limit_detector,
        )

    def query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one GraphQL query; return ``data`` or raise :class:`GraphQLError`."""
        payload = self.http.post(GRAPHQL_PATH, json={"query": query, "variables": variables}).data
        payload = payload or {}
        if payload.get("errors"):
            messages = "; ".join(
                str(e.get("message", e)) if isinstance(e, dict) else str(e)
                for e in payload["errors"]
            )
            raise GraphQLError(
                f"{self.NAME}: GraphQL error: {self.http.redact(messages)[:300]}",
                dependency=self.NAME,
                method="POST",
                url=GRAPHQL_PATH,
                codes=_error_codes(payload),
            )
        data = payload.get("data")
        if not isinstance(data, dict):
            raise GraphQLError(
                f"{self.NAME}: GraphQL answer without data",
                dependency=self.NAME,
                method="POST",
                url=GRAPHQL_PATH,
                codes=(),
            )
        return data

    def iter_issues_updated_after(self, cursor: datetime) -> Iterator[dict[str, Any]]:
        """Every issue (archived included) with ``updatedAt > cursor``, each once."""
        after: str | None = None
        seen: set[tuple[str, str]] = set()
        while True:
            variables = {
                "first": self.page_size,
                "after": after,
                "updatedAfter": linear_time(cursor),
            }
            connection = self.query(ISSUES_QUERY, variables).get("issues") or {}
            for node in connection.get("nodes") or []:
                key = (str(node.get("id")), str(node.get("updatedAt")))
                if key in seen:  # a page boundary shifted under us
                    continue
                seen.add(key)
                yield node
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            if str(info["endCursor"]) == after:
                # The page we just asked for points at itself: paging on would spin
                # forever. Fail the call; the run's retry or the next run starts over.
                raise InvalidResponseError(
                    f"{self.NAME}: issues pagination did not advance (endCursor {after!r} "
                    "was just requested)",
                    dependency=self.NAME,
                    method="POST",
                    url=GRAPHQL_PATH,
                )
            after = str(info["endCursor"])

    def fetch_updated_after(self, cursor: datetime) -> tuple[list[dict[str, Any]], datetime]:
        """All issues updated after ``cursor`` and the cursor for the next run.

        The new cursor is the largest ``updatedAt`` received (``cursor`` if none).
        """
        issues = list(self.iter_issues_updated_after(cursor))
        new_cursor = max(
            (parse_linear_time(i["updatedAt"]) for i in issues if i.get("updatedAt")),
            default=cursor,
        )
        return issues, max(new_cursor, cursor)
