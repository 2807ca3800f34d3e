from __future__ import annotations

import logging

import pytest

from sophia_pipeline.reliability import HttpClientConfig, RateLimit, RetryConfig, TimeoutConfig
from sophia_pipeline.reliability.breaker import reset_memory_breakers
from sophia_pipeline_tests.reliability.fault_server import (
    FaultServer,
    Hit,
    fault_server,
    http_server,
)

__all__ = ["assert_retry_after_waited", "fault_server", "fast_config", "http_server", "no_secret"]

# Production shape, test-sized numbers: ms backoffs, a 0.3 s read timeout (the server's
# slow answers take 0.6 s), and a rate limit high enough not to slow the suite down.
FAST = HttpClientConfig(
    retry=RetryConfig(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, max_total_s=15),
    timeouts=TimeoutConfig(connect_s=1, read_s=0.3, write_s=1, pool_s=1),
    rate_limit=RateLimit(requests=200),
    rate_limit_max_wait_s=5,
    breaker_fail_max=5,
    breaker_reset_timeout_s=30,
)


@pytest.fixture
def fast_config() -> HttpClientConfig:
    return FAST


def assert_retry_after_waited(server: FaultServer, min_wait_s: float = 1.0) -> None:
    """The request after each 429 reached the server at least ``min_wait_s`` later."""
    hits = server.hits
    limited = [i for i, h in enumerate(hits) if h.fault == "RateLimited"]
    assert limited, "the test meant to inject a 429"
    for i in limited:
        retry = _next_same(hits, i)
        assert retry is not None, "the 429 was never retried"
        assert retry.t - hits[i].t >= min_wait_s, retry.t - hits[i].t


def _next_same(hits: list[Hit], i: int) -> Hit | None:
    first = hits[i]
    for h in hits[i + 1 :]:
        if (h.method, h.path) == (first.method, first.path):
            return h
    return None


def no_secret(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """No captured record of ours (the fake server's access log aside) holds a secret."""
    text = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith("werkzeug")
    )
    assert text, "nothing was logged: the check would prove nothing"
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture(autouse=True)
def _fresh_memory_breakers() -> None:
    # Clients built without Redis share one in-memory breaker per name per process;
    # failures from one test must not open it for the next.
    reset_memory_breakers()
