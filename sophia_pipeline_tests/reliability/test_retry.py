from __future__ import annotations

import email.utils
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import tenacity
from hypothesis import given, settings
from hypothesis import strategies as st

from sophia_pipeline.reliability import (
    GraphQLError,
    HttpClientConfig,
    HttpStatusError,
    InvalidResponseError,
    RateLimitedError,
    ResilientHttpClient,
    RetryConfig,
    TimeoutConfig,
    TransportError,
    is_retryable,
    parse_retry_after,
)
from sophia_pipeline.reliability.retry import wait_full_jitter_or_retry_after
from sophia_pipeline_tests.conftest import free_port
from sophia_pipeline_tests.reliability.fault_server import (
    BadJson,
    FaultServer,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

FAST = RetryConfig(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, max_total_s=10)


def client(url: str, retry: RetryConfig = FAST) -> ResilientHttpClient:
    config = HttpClientConfig(
        retry=retry, timeouts=TimeoutConfig(connect_s=1, read_s=0.3), breaker_enabled=False
    )
    return ResilientHttpClient("svc", url, config=config)


def _err(status: int, retry_after: float | None = None) -> HttpStatusError:
    return HttpStatusError(
        dependency="svc", method="GET", url="/x", status_code=status, retry_after_s=retry_after
    )


# -- Retry-After parsing ---------------------------------------------------------------


def test_parse_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    later = email.utils.format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(later, now=now) == 7.0
    earlier = email.utils.format_datetime(now - timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    for junk in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(junk) is None


# -- classification --------------------------------------------------------------------

_request = httpx.Request("GET", "http://x")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_err(500), True),
        (_err(502), True),
        (_err(503, 2.0), True),
        (_err(429), True),
        (RateLimitedError(dependency="s", method="GET", url="/", status_code=403), True),
        (_err(400), False),
        (_err(401), False),
        (_err(403), False),
        (_err(404), False),
        (_err(422), False),
        (httpx.ConnectError("refused", request=_request), True),
        (httpx.ReadTimeout("slow", request=_request), True),
        (httpx.ConnectTimeout("slow", request=_request), True),
        (httpx.RemoteProtocolError("peer closed", request=_request), True),
        (httpx.ReadError("reset", request=_request), True),
        (json.JSONDecodeError("Expecting value", "{", 1), True),
        (InvalidResponseError("bad", dependency="s", method="GET", url="/"), True),
        (TransportError("reset", dependency="s", method="GET", url="/"), True),
        (GraphQLError("bad query", dependency="s", method="POST", url="/", codes=()), False),
        (httpx.UnsupportedProtocol("ftp", request=_request), False),
        (ValueError("bug"), False),
    ],
)
def test_is_retryable(exc: BaseException, expected: bool) -> None:
    assert is_retryable(exc) is expected


def _state(attempt: int, exc: BaseException) -> tenacity.RetryCallState:
    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=30),
    base=st.floats(min_value=0.001, max_value=5),
    cap=st.floats(min_value=5, max_value=120),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=600)),
)
def test_wait_is_full_jitter_with_retry_after_floor(
    attempt: int, base: float, cap: float, retry_after: float | None
) -> None:
    wait = wait_full_jitter_or_retry_after(base, cap)(_state(attempt, _err(503, retry_after)))
    window = min(cap, base * 2 ** (attempt - 1))
    if retry_after is None:
        assert 0 <= wait <= window + 1e-9
    else:
        assert retry_after <= wait <= max(window, retry_after) + 1e-9


def test_config_rejects_inverted_delays() -> None:
    with pytest.raises(ValueError):
        RetryConfig(base_delay_s=5, max_delay_s=1)


# -- against a misbehaving server ------------------------------------------------------


def test_every_transient_fault_is_retried_then_succeeds(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    fault_server.route("GET", "/data", lambda r: {"ok": True})
    fault_server.inject("GET", "/data", Status(500), Slow(0.6), Truncated(), BadJson(), Status(502))
    caplog.set_level(logging.WARNING, logger="sophia_pipeline.reliability")
    with client(fault_server.url) as c:
        assert c.get("/data").data == {"ok": True}
    hits = fault_server.hits_for("GET", "/data")
    assert [h.fault for h in hits] == ["Status", "Slow", "Truncated", "BadJson", "Status", None]
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert [r.attempt for r in retries] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]
    reasons = " | ".join(r.getMessage() for r in retries)
    for reason in ("HTTP 500", "ReadTimeout", "RemoteProtocolError", "InvalidResponseError"):
        assert reason in reasons


def test_retry_after_on_429_and_503_is_waited_out(fault_server: FaultServer) -> None:
    fault_server.route("GET", "/data", lambda r: {"ok": True})
    fault_server.inject(
        "GET", "/data", RateLimited("1"), Status(503, headers=(("Retry-After", "1"),))
    )
    with client(fault_server.url) as c:
        assert c.get("/data").data == {"ok": True}
    t = [h.t for h in fault_server.hits_for("GET", "/data")]
    assert len(t) == 3
    assert t[1] - t[0] >= 1.0
    assert t[2] - t[1] >= 1.0


def test_other_4xx_fail_at_once(fault_server: FaultServer) -> None:
    fault_server.route("GET", "/data", lambda r: (404, {"error": "nope"}))
    with client(fault_server.url) as c, pytest.raises(HttpStatusError) as info:
        c.get("/data")
    assert info.value.status_code == 404
    assert len(fault_server.hits_for("GET", "/data")) == 1


def test_attempts_are_capped(fault_server: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    fault_server.route("GET", "/data", lambda r: (500, {"error": "down"}))
    caplog.set_level(logging.WARNING, logger="sophia_pipeline.reliability")
    retry = RetryConfig(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
    with client(fault_server.url, retry) as c, pytest.raises(HttpStatusError) as info:
        c.get("/data")
    assert info.value.status_code == 500
    assert len(fault_server.hits_for("GET", "/data")) == 3
    assert any("giving up after 3 attempt(s)" in r.getMessage() for r in caplog.records)


def test_total_time_is_capped_before_sleeping(fault_server: FaultServer) -> None:
    fault_server.route("GET", "/data", lambda r: {"ok": True})
    fault_server.inject("GET", "/data", RateLimited("30"))
    retry = RetryConfig(max_attempts=5, base_delay_s=0.01, max_delay_s=0.02, max_total_s=2)
    started = time.monotonic()
    with client(fault_server.url, retry) as c, pytest.raises(RateLimitedError) as info:
        c.get("/data")
    assert time.monotonic() - started < 1.0  # gave up instead of sleeping 30 s
    assert info.value.retry_after_s == 30
    assert len(fault_server.hits_for("GET", "/data")) == 1


def test_connection_refused_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sophia_pipeline.reliability")
    retry = RetryConfig(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
    with client(f"http://127.0.0.1:{free_port()}", retry) as c, pytest.raises(TransportError) as e:
        c.get("/data")
    assert isinstance(e.value.__cause__, httpx.ConnectError)
    assert sum("ConnectError" in r.getMessage() for r in caplog.records) == 3  # 2 retries + give-up
