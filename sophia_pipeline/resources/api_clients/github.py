"""GitHub repository events, polled: the fallback when a webhook delivery was missed.

``GET /repos/{owner}/{repo}/events`` (newest first, at most 300 events / 90 days):

- Conditional requests: send the last ``ETag`` as ``If-None-Match``; a 304 means
  nothing new and does not count against the rate limit.
- ``X-Poll-Interval`` is the minimum number of seconds before the next poll; the
  result reports it so the caller (a Dagster sensor) can honour it.
- Paging follows the ``Link: <...>; rel="next"`` header, only to the API's own origin
  (the token would otherwise travel with the request).
- Events are de-duplicated by event id, within a poll (pages shift while new events
  arrive) and against the caller's ``seen`` ids (a set or a callable, e.g. a lookup in
  the events table).

Rate limits: 5,000 requests/hour for a token. Exhaustion is a 403 or 429 with
``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch seconds); secondary limits
send ``Retry-After``. Both are treated as rate limits and waited out (within the retry
policy's time cap).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

import httpx

from sophia_pipeline.reliability import (
    HttpClientConfig,
    RateLimit,
    RateLimitSignal,
    ResilientHttpClient,
)
from sophia_pipeline.reliability.breaker import RedisLike
from sophia_pipeline.reliability.http import retry_after_from
from sophia_pipeline.reliability.retry import parse_http_date

from .base import ApiClient

DEFAULT_BASE_URL = "https://api.github.com"
DEFAULT_RATE_LIMIT = RateLimit(requests=5000, period_s=3600.0, burst=50)
DEFAULT_POLL_INTERVAL_S = 60

_LINK = re.compile(r"<([^>]+)>\s*;\s*([^,]*)")
_REL = re.compile(r'rel="?([^";]+)"?')

SeenIds = Container[str] | Callable[[str], bool]


def next_link(link_header: str | None) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header."""
    if not link_header:
        return None
    for url, params in _LINK.findall(link_header):
        rel = _REL.search(params)
        if rel and "next" in rel.group(1).split():
            return url
    return None


def github_rate_limit_detector(response: httpx.Response) -> RateLimitSignal | None:
    """429, or 403 carrying a rate-limit signal, is a rate limit; anything else is not."""
    if response.status_code not in (403, 429):
        return None
    retry_after = retry_after_from(response)
    if retry_after is not None:
        return RateLimitSignal(retry_after)
    if response.headers.get("x-ratelimit-remaining") == "0":
        try:
            reset = int(response.headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return RateLimitSignal(None)
        server_now = parse_http_date(response.headers.get("date"))
        now = server_now.timestamp() if server_now else time.time()
        return RateLimitSignal(max(0.0, reset - now))
    if response.status_code == 429:
        return RateLimitSignal(None)
    return None  # a plain 403: permissions, not a limit


@dataclass(frozen=True)
class EventsPoll:
    """The outcome of one poll. ``events`` are new ones, oldest first."""

    events: list[dict[str, Any]]
    etag: str | None
    poll_interval_s: int
    not_modified: bool


class GitHubEventsClient(ApiClient):
    """Polls repository events with a fine-grained or classic token."""

    NAME = "github"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        redis: RedisLike | None = None,
        config: HttpClientConfig | None = None,
        page_size: int = 100,
        max_pages: int = 10,
    ) -> None:
        self.page_size = page_size
        self.max_pages = max_pages
        self.http = ResilientHttpClient.build(
            self.NAME,
            base_url,
            redis=redis,
            config=config,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            secret_headers={"Authorization": f"Bearer {token}"},
            extra_secrets=[token],
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            rate_limit_detector=github_rate_limit_detector,
        )

    def poll(
        self, owner: str, repo: str, *, etag: str | None = None, seen: SeenIds = frozenset()
    ) -> EventsPoll:
        """New events of ``owner/repo`` since the poll that returned ``etag``."""
        is_seen: Callable[[str], bool] = seen if callable(seen) else seen.__contains__
        url: str | None = f"/repos/{owner}/{repo}/events"
        params: dict[str, Any] | None = {"per_page": self.page_size}
        headers = {"If-None-Match": etag} if etag else None
        new_etag: str | None = etag
        interval = DEFAULT_POLL_INTERVAL_S
        collected: list[dict[str, Any]] = []
        taken: set[str] = set()
        pages = 0
        while url is not None and pages < self.max_pages:
            response = self.http.get(
                url, params=params, headers=headers, ok_statuses=(304,), expect=list
            )
            pages += 1
            if pages == 1:
                interval = _poll_interval(response.headers)
                if response.status_code == 304:
                    return EventsPoll([], etag, interval, not_modified=True)
                new_etag = response.headers.get("etag") or new_etag
            for event in response.data or []:
                event_id = str(event.get("id"))
                if event_id in taken or is_seen(event_id):
                    continue
                taken.add(event_id)
                collected.append(event)
            url = next_link(response.headers.get("link"))
            params, headers = None, None  # the next link carries its own query
        collected.reverse()  # GitHub lists newest first; callers want arrival order
        return EventsPoll(collected, new_etag, interval, not_modified=False)


def _poll_interval(headers: httpx.Headers) -> int:
    try:
        return max(1, int(headers.get("x-poll-interval", DEFAULT_POLL_INTERVAL_S)))
    except ValueError:
        return DEFAULT_POLL_INTERVAL_S
