from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from werkzeug import Request, Response

from sophia_pipeline.reliability import HttpClientConfig, HttpStatusError, UnsafeUrlError
from sophia_pipeline.resources.api_clients import GitHubEventsClient
from sophia_pipeline.resources.api_clients.github import github_rate_limit_detector, next_link
from sophia_pipeline_tests.api_clients.conftest import assert_retry_after_waited, no_secret
from sophia_pipeline_tests.reliability.fault_server import (
    FaultServer,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

TOKEN = "ghp_0123456789abcdefSECRET"
PATH = "/repos/acme/app/events"
# Newest first, as GitHub lists them. Page 2 repeats e5: a new event arrived between our
# page requests and pushed everything down one place.
PAGES: list[list[str]] = [["e7", "e6", "e5"], ["e5", "e4", "e3"], ["e2", "e1"]]


class FakeEvents:
    def __init__(self, base: str, etag: str = '"v1"') -> None:
        self.base = base
        self.etag = etag

    def __call__(self, request: Request) -> Response | tuple[int, Any, dict[str, str]]:
        if request.headers.get("If-None-Match") == self.etag:
            return Response(status=304, headers={"ETag": self.etag, "X-Poll-Interval": "60"})
        page = int(request.args.get("page", 1))
        headers = {"ETag": self.etag, "X-Poll-Interval": "60"}
        if page < len(PAGES):
            headers["Link"] = (
                f'<{self.base}{PATH}?per_page=3&page={page + 1}>; rel="next", '
                f'<{self.base}{PATH}?per_page=3&page={len(PAGES)}>; rel="last"'
            )
        events = [{"id": e, "type": "PushEvent"} for e in PAGES[page - 1]]
        return 200, events, headers


def test_poll_follows_links_dedups_and_survives_every_fault(
    fault_server: FaultServer,
    redis_client: object,
    redis_url: str,
    fast_config: HttpClientConfig,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    fault_server.route("GET", PATH, FakeEvents(fault_server.url))
    fault_server.inject("GET", PATH, RateLimited("1"), Status(500), Slow(0.6), Truncated())
    with GitHubEventsClient(
        TOKEN, base_url=fault_server.url, redis=redis_url, config=fast_config, page_size=3
    ) as gh:
        first = gh.poll("acme", "app", seen={"e1"})  # e1 came in by webhook already
        assert [e["id"] for e in first.events] == ["e2", "e3", "e4", "e5", "e6", "e7"]
        assert first.etag == '"v1"' and first.poll_interval_s == 60 and not first.not_modified

        second = gh.poll("acme", "app", etag=first.etag, seen=lambda i: True)
        assert second.not_modified and second.events == [] and second.etag == '"v1"'

    assert_retry_after_waited(fault_server)
    ok = [h for h in fault_server.hits if not h.fault]
    assert [h.args.get("page") for h in ok] == [None, "2", "3", None]
    assert ok[-1].headers["if-none-match"] == '"v1"'
    assert ok[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert ok[0].headers["x-github-api-version"] == "2022-11-28"
    no_secret(debug_logs, TOKEN)


def test_link_to_another_host_is_not_followed(
    fault_server: FaultServer, fast_config: HttpClientConfig
) -> None:
    fault_server.route("GET", PATH, FakeEvents("http://evil.example.com"))
    gh = GitHubEventsClient(TOKEN, base_url=fault_server.url, config=fast_config)
    with gh, pytest.raises(UnsafeUrlError):
        gh.poll("acme", "app")
    assert len(fault_server.hits) == 1


def test_plain_403_is_not_retried(fault_server: FaultServer, fast_config: HttpClientConfig) -> None:
    fault_server.route("GET", PATH, lambda r: (403, {"message": "Resource not accessible"}))
    gh = GitHubEventsClient(TOKEN, base_url=fault_server.url, config=fast_config)
    with gh, pytest.raises(HttpStatusError) as info:
        gh.poll("acme", "app")
    assert info.value.status_code == 403
    assert len(fault_server.hits) == 1


def test_rate_limit_signals() -> None:
    date = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
    http_date = email.utils.format_datetime(date, usegmt=True)
    exhausted = httpx.Response(
        403,
        headers={
            "Date": http_date,
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(date.timestamp()) + 90),
        },
    )
    signal = github_rate_limit_detector(exhausted)
    assert signal is not None and signal.retry_after_s == 90
    secondary = github_rate_limit_detector(httpx.Response(403, headers={"Retry-After": "30"}))
    assert secondary is not None and secondary.retry_after_s == 30
    assert github_rate_limit_detector(httpx.Response(403)) is None
    assert github_rate_limit_detector(httpx.Response(500)) is None


def test_next_link_parsing() -> None:
    header = (
        '<https://api.github.com/x?page=2>; rel="next", '
        '<https://api.github.com/x?page=5>; rel="last"'
    )
    assert next_link(header) == "https://api.github.com/x?page=2"
    assert next_link('<https://api.github.com/x?page=5>; rel="last"') is None
    assert next_link(None) is None
