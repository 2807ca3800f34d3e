from __future__ import annotations

import base64
import logging

import pytest
from werkzeug import Request

from sophia_pipeline.reliability import (
    HttpClientConfig,
    HttpStatusError,
    Redactor,
    ResilientHttpClient,
    RetryConfig,
    TimeoutConfig,
    UnsafeUrlError,
)
from sophia_pipeline_tests.reliability.fault_server import FaultServer, Status

TOKEN = "tok_SUPERSECRET_4f9a2c71"
CONFIG = HttpClientConfig(
    retry=RetryConfig(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02),
    timeouts=TimeoutConfig(connect_s=1, read_s=1),
    breaker_enabled=False,
)


def _echo_auth(request: Request) -> tuple[int, dict[str, str]]:
    # A careless server that echoes the credential back in its error body.
    return 401, {"error": f"invalid token {request.headers.get('Authorization')}"}


def _all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    # werkzeug's records are the fake vendor's own access log, not ours.
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    handler = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = [handler.format(r) for r in ours]
    for record in ours:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(repr(record.__dict__))
    return "\n".join(parts)


def test_token_never_logged_nor_in_errors(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    fault_server.route("GET", "/ok", lambda r: {"ok": True})
    fault_server.route("GET", "/denied", _echo_auth)
    fault_server.route("GET", "/down", lambda r: (500, {"echo": r.headers.get("Authorization")}))
    errors: list[str] = []
    with ResilientHttpClient(
        "svc", fault_server.url, secret_headers={"Authorization": f"Bearer {TOKEN}"}, config=CONFIG
    ) as client:
        assert client.get("/ok", params={"q": "x", "api_key": TOKEN}).data == {"ok": True}
        for path in ("/denied", "/down"):
            with pytest.raises(HttpStatusError) as info:
                client.get(path)
            errors.append(str(info.value))
            errors.append(repr(info.value.__dict__))
    # The server really did receive the token, so the redaction below is meaningful.
    assert fault_server.hits_for("GET", "/ok")[0].headers["authorization"] == f"Bearer {TOKEN}"
    text = _all_log_text(caplog) + "\n".join(errors)
    assert "svc: GET" in text  # our request lines were captured at all
    assert "/ok?q=x&api_key=***" in text
    assert TOKEN not in text
    assert "invalid token ***" in "\n".join(errors)


def test_basic_credentials_are_redacted_in_every_form() -> None:
    key, secret = "gong-access-key-123", "gong-secret-value-456"
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    redactor = Redactor([f"Basic {basic}"])
    text = f"a {basic} b {key} c {secret} d {key}:{secret}"
    cleaned = redactor.text(text)
    for value in (basic, key, secret):
        assert value not in cleaned


def test_redactor_masks_credential_query_params_and_userinfo() -> None:
    redactor = Redactor([])
    url = "https://user:pw@api.example.com/v1/x?token=abc&page=2&access_token=def&Key=ghi"
    assert (
        redactor.url(url)
        == "https://api.example.com/v1/x?token=***&page=2&access_token=***&Key=***"
    )


def test_refuses_to_send_credentials_to_another_origin(fault_server: FaultServer) -> None:
    with (
        ResilientHttpClient(
            "svc",
            fault_server.url,
            secret_headers={"Authorization": f"Bearer {TOKEN}"},
            config=CONFIG,
        ) as client,
        pytest.raises(UnsafeUrlError),
    ):
        client.get("http://evil.example.com/steal")
    assert fault_server.hits == []


def test_redirects_are_not_followed(fault_server: FaultServer) -> None:
    fault_server.inject(
        "GET", "/moved", Status(302, body="", headers=(("Location", "http://evil.example.com/"),))
    )
    with (
        ResilientHttpClient("svc", fault_server.url, config=CONFIG) as client,
        pytest.raises(HttpStatusError) as info,
    ):
        client.get("/moved")
    assert info.value.status_code == 302


def test_ok_statuses_are_returned_not_raised(fault_server: FaultServer) -> None:
    fault_server.inject("GET", "/etag", Status(304, body=""))
    with ResilientHttpClient("svc", fault_server.url, config=CONFIG) as client:
        response = client.get("/etag", ok_statuses=(304,))
    assert response.status_code == 304
    assert response.data is None
