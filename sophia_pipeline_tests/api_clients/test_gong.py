from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug import Request

from sophia_pipeline.reliability import HttpClientConfig
from sophia_pipeline.resources.api_clients import GongClient
from sophia_pipeline_tests.api_clients.conftest import assert_retry_after_waited, no_secret
from sophia_pipeline_tests.reliability.fault_server import (
    BadJson,
    FaultServer,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

KEY, SECRET = "gong-access-key-7781", "gong-secret-0c4be2d9"
FROM = datetime(2026, 3, 1, tzinfo=UTC)
TO = datetime(2026, 3, 2, tzinfo=UTC)
IDS = [f"c{i}" for i in range(5)]
PAGE = 2


def _page(items: list[Any], cursor: str | None) -> tuple[list[Any], str | None]:
    start = int(cursor or 0)
    chunk = items[start : start + PAGE]
    nxt = str(start + PAGE) if start + PAGE < len(items) else None
    return chunk, nxt


def _records(nxt: str | None, n: int) -> dict[str, Any]:
    records: dict[str, Any] = {"totalRecords": len(IDS), "currentPageSize": n}
    if nxt:
        records["cursor"] = nxt
    return records


def list_calls(request: Request) -> dict[str, Any]:
    assert request.args["fromDateTime"] == "2026-03-01T00:00:00Z"
    chunk, nxt = _page(IDS, request.args.get("cursor"))
    return {
        "requestId": "r1",
        "records": _records(nxt, len(chunk)),
        "calls": [{"id": i} for i in chunk],
    }


def extensive(request: Request) -> dict[str, Any]:
    body = request.get_json()
    # Like Gong: only the body's cursor counts; one in the query string is ignored.
    chunk, nxt = _page(body["filter"]["callIds"], body.get("cursor"))
    calls = [
        {"metaData": {"id": i, "title": f"Call {i}"}, "parties": [{"id": "p1"}]} for i in chunk
    ]
    return {"requestId": "r2", "records": _records(nxt, len(chunk)), "calls": calls}


def transcript(request: Request) -> dict[str, Any]:
    body = request.get_json()
    chunk, nxt = _page(body["filter"]["callIds"], body.get("cursor"))
    items = [{"callId": i, "transcript": [{"speakerId": "p1", "sentences": []}]} for i in chunk]
    return {"requestId": "r3", "records": _records(nxt, len(chunk)), "callTranscripts": items}


def _serve(server: FaultServer) -> None:
    server.route("GET", "/v2/calls", list_calls)
    server.route("POST", "/v2/calls/extensive", extensive)
    server.route("POST", "/v2/calls/transcript", transcript)


def test_calls_survive_every_fault_and_arrive_once(
    fault_server: FaultServer,
    redis_client: object,
    redis_url: str,
    fast_config: HttpClientConfig,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    _serve(fault_server)
    fault_server.inject("GET", "/v2/calls", Status(500), RateLimited("1"))
    fault_server.inject("POST", "/v2/calls/extensive", Slow(0.6), Status(503))
    fault_server.inject("POST", "/v2/calls/transcript", Truncated(), BadJson())

    with GongClient.from_access_key(
        KEY, SECRET, base_url=fault_server.url, redis=redis_url, config=fast_config
    ) as gong:
        calls = list(gong.iter_calls(FROM, TO, batch_size=3))

    assert [c["metaData"]["id"] for c in calls] == IDS
    assert all(c["parties"] and c["transcript"] for c in calls)
    faults = sorted(h.fault for h in fault_server.hits if h.fault)
    assert faults == ["BadJson", "RateLimited", "Slow", "Status", "Status", "Truncated"]
    assert_retry_after_waited(fault_server)
    posts = fault_server.hits_for("POST", "/v2/calls/extensive")
    assert any(h.json.get("cursor") for h in posts)  # later pages asked for by body cursor
    assert not any("cursor" in h.args for h in posts)
    no_secret(debug_logs, KEY, SECRET, base64.b64encode(f"{KEY}:{SECRET}".encode()).decode())


def test_no_calls_is_an_empty_window(
    fault_server: FaultServer, fast_config: HttpClientConfig
) -> None:
    fault_server.route(
        "GET",
        "/v2/calls",
        lambda r: (404, {"requestId": "r", "errors": ["No calls found corresponding to filters"]}),
    )
    with GongClient("tok", base_url=fault_server.url, config=fast_config) as gong:
        assert list(gong.iter_calls(FROM, TO)) == []
    assert len(fault_server.hits) == 1


def test_naive_datetimes_are_refused(fast_config: HttpClientConfig) -> None:
    with (
        GongClient("tok", base_url="http://127.0.0.1:9", config=fast_config) as gong,
        pytest.raises(ValueError),
    ):
        list(gong.list_calls(datetime(2026, 3, 1), TO))
