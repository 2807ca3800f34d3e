"""The HTTP door on the materialized sample: the same payloads as the MCP tools, the
bearer token, health and readiness, metrics, the report, and bad input that must get a
422 (never a 500, never an echo of the input). ``/mcp`` is exercised by the SDK's client
against a real uvicorn server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from mcp import Client

from sophia_pipeline.serving.http_api import create_app
from sophia_pipeline.serving.mcp_server import build_mcp_server
from sophia_pipeline.serving.models import KpiRequest
from sophia_pipeline_tests.conftest import free_port
from sophia_pipeline_tests.serving.demo import Demo

pytestmark = pytest.mark.slow

BASE = "http://127.0.0.1:8000"  # a loopback Host: the /mcp transport refuses others


@pytest.fixture
def client(demo: Demo) -> Iterator[TestClient]:
    app = create_app(demo.service(prefix="http"), report_path=demo.settings.executive_report_path)
    with TestClient(app, base_url=BASE) as c:
        yield c


def account_of(demo: Demo) -> str:
    return str(
        demo.warehouse.query(
            "SELECT account_id FROM gong_intelligence.call_transcripts ORDER BY call_id LIMIT 1"
        )["account_id"].iloc[0]
    )


def test_every_endpoint_answers_what_the_mcp_tool_answers(demo: Demo, client: TestClient) -> None:
    account = account_of(demo)
    http = {
        "search": client.post("/v1/search", json={"query": "pricing objections", "limit": 5}),
        "answer": client.post("/v1/answer", json={"question": "Who asked about pricing?"}),
        "get_kpis": client.get("/v1/kpis", params={"start": "2026-10-01", "end": "2026-10-10"}),
        "competitor_mentions": client.get(
            "/v1/competitors/mentions", params=[("sources", "gong"), ("limit", "5")]
        ),
        "account_overview": client.get(f"/v1/accounts/{account}", params={"calls": 3}),
        "list_sources": client.get("/v1/sources"),
    }
    arguments: dict[str, dict[str, Any]] = {
        "search": {"query": "pricing objections", "limit": 5},
        "answer": {"question": "Who asked about pricing?"},
        "get_kpis": {"start": "2026-10-01", "end": "2026-10-10"},
        "competitor_mentions": {"sources": ["gong"], "limit": 5},
        "account_overview": {"account_id": account, "calls": 3},
        "list_sources": {},
    }
    server = build_mcp_server(demo.service(prefix="http-mcp"))

    async def over_mcp() -> dict[str, Any]:
        async with Client(server) as mcp:
            out = {}
            for name, args in arguments.items():
                result = await mcp.call_tool(name, args)
                assert not result.is_error, result.content
                out[name] = result.structured_content
            return out

    mcp_payloads = asyncio.run(over_mcp())
    for name, response in http.items():
        assert response.status_code == 200, (name, response.text)
        got, want = response.json(), mcp_payloads[name]
        got.pop("took_ms", None), want.pop("took_ms", None)
        assert got == want, name


REVERSED = {"occurred_from": "2026-10-02T00:00:00", "occurred_to": "2026-10-01T00:00:00"}
REVERSED_DAYS = {"start": "2026-10-02", "end": "2026-10-01"}
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/v1/search", {"json": {"query": "x", "limit": 0}}),
        ("post", "/v1/search", {"json": {"query": "x", "limit": 10_000}}),
        ("post", "/v1/search", {"json": {"query": "x", "sources": ["nope"]}}),
        ("post", "/v1/search", {"json": {"query": "x" * 1_000_000}}),
        ("post", "/v1/search", {"json": {"query": "x", **REVERSED}}),
        ("post", "/v1/search", {"content": b"{not json", "headers": JSON}),
        ("post", "/v1/answer", {"json": {"question": "q" * 1_000_000}}),
        ("post", "/v1/answer", {"json": {"question": "q", "sources": ["nope"]}}),
        ("get", "/v1/kpis", {"params": {"start": "2026-10-02", "end": "2026-10-01"}}),
        ("get", "/v1/kpis", {"params": {"start": "yesterday"}}),
        ("get", "/v1/kpis", {"params": {"stat": "2026-10-01"}}),
        ("get", "/v1/competitors/mentions", {"params": {"limit": 0}}),
        ("get", "/v1/competitors/mentions", {"params": {"limit": 10_000}}),
        ("get", "/v1/competitors/mentions", {"params": {"sources": "nope"}}),
        ("get", "/v1/competitors/mentions", {"params": {"account_id": "x' OR '1'='1"}}),
        ("get", "/v1/competitors/mentions", {"params": REVERSED_DAYS}),
        ("get", "/v1/accounts/x' OR '1'='1", {}),
        ("get", "/v1/accounts/5100000136", {"params": {"calls": 0}}),
        ("get", "/v1/accounts/5100000136", {"params": {"query": "q" * 1_001}}),
    ],
)  # fmt: skip
def test_bad_input_is_a_422_that_does_not_echo_it(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 422, response.text[:500]
    assert len(response.content) < 5_000
    assert response.json()["detail"]


def test_an_injection_as_search_filter_is_data_not_syntax(demo: Demo, client: TestClient) -> None:
    """Search accepts any printable account id and escapes it: the quote cannot close
    the filter's string, so nothing matches (a leak would return every account)."""
    response = client.post(
        "/v1/search", json={"query": "pricing", "account_id": "x' OR '1'='1", "mode": "keyword"}
    )
    assert response.status_code == 200
    assert response.json()["hits"] == []
    control = client.post("/v1/search", json={"query": "pricing", "mode": "keyword"})
    assert control.json()["hits"]


def test_unknown_account_is_404(client: TestClient) -> None:
    response = client.get("/v1/accounts/no-such-account")
    assert response.status_code == 404 and "no-such-account" in response.json()["detail"]


def test_health_ready_metrics_and_report(demo: Demo, client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "healthy"
    assert {d["name"]: d["state"] for d in body["dependencies"]} == {
        "warehouse": "up",
        "vector_store": "up",
        "cache": "up",
        "embedder": "up",
    }
    client.get("/v1/sources")
    metrics = client.get("/metrics").text
    assert 'sophia_api_requests_total{method="GET",route="/v1/sources",status="200"}' in metrics
    assert 'sophia_dependency_up{dependency="vector_store"} 1.0' in metrics
    report = client.get("/reports/executive")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.content == demo.settings.executive_report_path.read_bytes()


def test_missing_report_is_404(demo: Demo, tmp_path: Any) -> None:
    app = create_app(demo.service(prefix="http-noreport"), report_path=tmp_path / "none.html")
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/reports/executive").status_code == 404


def test_token_guards_everything_but_health(demo: Demo) -> None:
    app = create_app(demo.service(prefix="http-token"), token="s3cret-token")
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/health").status_code == 200
        for path in ("/v1/sources", "/ready", "/metrics", "/openapi.json", "/reports/executive"):
            response = c.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
        assert c.post("/mcp", json={}).status_code == 401
        assert c.post("/v1/search", json={"query": "x"}).status_code == 401
        wrong = {"Authorization": "Bearer s3cret-tokem"}
        assert c.get("/v1/sources", headers=wrong).status_code == 401
        assert c.get("/v1/sources", headers={"Authorization": "s3cret-token"}).status_code == 401
        good = {"Authorization": "Bearer s3cret-token"}
        assert c.get("/v1/sources", headers=good).status_code == 200


def test_openapi_document_is_valid(client: TestClient) -> None:
    import schemathesis

    spec = client.get("/openapi.json").json()
    schemathesis.openapi.from_dict(spec).validate()  # against the OpenAPI meta-schema
    assert set(spec["paths"]) >= PATHS


PATHS = {
    "/v1/search",
    "/v1/kpis",
    "/v1/competitors/mentions",
    "/v1/accounts/{account_id}",
    "/v1/sources",
    "/v1/answer",
    "/reports/executive",
    "/health",
    "/ready",
}


def test_streamable_http_at_mcp_on_a_real_server(demo: Demo) -> None:
    """The SDK's HTTP client against ``/mcp`` of the running app (stateless)."""
    service = demo.service(prefix="http-live")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:

        async def run() -> dict[str, Any]:
            async with Client(f"http://127.0.0.1:{port}/mcp") as mcp:
                tools = {t.name for t in (await mcp.list_tools()).tools}
                assert "get_kpis" in tools and "search" in tools
                result = await mcp.call_tool(
                    "get_kpis", {"start": "2026-10-01", "end": "2026-10-03"}
                )
                assert not result.is_error and result.structured_content is not None
                return result.structured_content

        got = asyncio.run(run())
        want = service.get_kpis(KpiRequest(start=date(2026, 10, 1), end=date(2026, 10, 3)))
        assert got == want.model_dump(mode="json")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
