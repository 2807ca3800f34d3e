from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from werkzeug import Request

from sophia_pipeline.reliability import GraphQLError, HttpClientConfig
from sophia_pipeline.resources.api_clients import LinearClient
from sophia_pipeline.resources.api_clients.linear import linear_rate_limit_detector, linear_time
from sophia_pipeline_tests.api_clients.conftest import assert_retry_after_waited, no_secret
from sophia_pipeline_tests.reliability.fault_server import (
    FaultServer,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

TOKEN = "lin_api_9d1b3c5e7f_secret"
T0 = datetime(2026, 4, 1, tzinfo=UTC)
ISSUES = [
    {"id": f"i{n}", "identifier": f"ENG-{n}", "updatedAt": linear_time(T0 + timedelta(hours=n))}
    for n in range(7)
]


def graphql(request: Request) -> dict[str, Any]:
    body = request.get_json()
    assert "orderBy: updatedAt" in body["query"] and "includeArchived: true" in body["query"]
    v = body["variables"]
    newer = [i for i in ISSUES if i["updatedAt"] > v["updatedAfter"]]
    start = int(v["after"] or 0)
    nodes = newer[start : start + v["first"]]
    more = start + v["first"] < len(newer)
    return {
        "data": {
            "issues": {
                "nodes": nodes,
                "pageInfo": {"hasNextPage": more, "endCursor": str(start + v["first"])},
            }
        }
    }


def test_incremental_pull_survives_every_fault(
    fault_server: FaultServer,
    redis_client: object,
    redis_url: str,
    fast_config: HttpClientConfig,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    fault_server.route("POST", "/graphql", graphql)
    fault_server.inject("POST", "/graphql", Truncated(), RateLimited("1"), Slow(0.6), Status(500))
    cursor = T0 + timedelta(hours=1)  # i0 and i1 were loaded by an earlier run
    with LinearClient(
        TOKEN, base_url=fault_server.url, redis=redis_url, config=fast_config, page_size=2
    ) as linear:
        issues, new_cursor = linear.fetch_updated_after(cursor)
    assert [i["id"] for i in issues] == ["i2", "i3", "i4", "i5", "i6"]
    assert new_cursor == T0 + timedelta(hours=6)
    assert_retry_after_waited(fault_server)
    sent = [h for h in fault_server.hits if not h.fault]
    assert sent[0].headers["authorization"] == TOKEN  # personal keys go without "Bearer"
    assert [h.json["variables"]["after"] for h in sent] == [None, "2", "4"]
    no_secret(debug_logs, TOKEN)

    with LinearClient(TOKEN, base_url=fault_server.url, config=fast_config) as linear:
        again, same_cursor = linear.fetch_updated_after(new_cursor)
    assert again == [] and same_cursor == new_cursor


def test_graphql_errors_fail_at_once(
    fault_server: FaultServer, fast_config: HttpClientConfig
) -> None:
    fault_server.route(
        "POST",
        "/graphql",
        lambda r: {"errors": [{"message": "Unknown field", "extensions": {"code": "GRAPHQL"}}]},
    )
    linear = LinearClient(TOKEN, base_url=fault_server.url, config=fast_config)
    with linear, pytest.raises(GraphQLError) as info:
        linear.fetch_updated_after(T0)
    assert info.value.codes == ("GRAPHQL",)
    assert len(fault_server.hits) == 1


def test_ratelimited_graphql_error_is_retried(
    fault_server: FaultServer, fast_config: HttpClientConfig
) -> None:
    limited = Status(
        400,
        body='{"errors": [{"message": "Slow down", "extensions": {"code": "RATELIMITED"}}]}',
    )
    fault_server.route("POST", "/graphql", graphql)
    fault_server.inject("POST", "/graphql", limited)
    with LinearClient(TOKEN, base_url=fault_server.url, config=fast_config) as linear:
        issues, _ = linear.fetch_updated_after(T0 + timedelta(hours=5))
    assert [i["id"] for i in issues] == ["i6"]
    assert len(fault_server.hits) == 2


def test_rate_limit_reset_header_is_measured_against_the_server_clock() -> None:
    date = datetime(2026, 4, 1, 12, 0, 0, tzinfo=UTC)
    response = httpx.Response(
        400,
        json={"errors": [{"extensions": {"code": "RATELIMITED"}}]},
        headers={
            "Date": email.utils.format_datetime(date, usegmt=True),
            "X-RateLimit-Requests-Reset": str(int((date.timestamp() + 42) * 1000)),
        },
    )
    signal = linear_rate_limit_detector(response)
    assert signal is not None and signal.retry_after_s == 42
    assert linear_rate_limit_detector(httpx.Response(400, json={"errors": []})) is None
