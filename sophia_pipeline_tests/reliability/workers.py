"""Functions run in *separate processes* (multiprocessing "spawn") by the tests.

They live in an importable module, not a test file, because a spawned child imports
its target by module path and must not re-run pytest collection.
"""

from __future__ import annotations

import time
from multiprocessing.synchronize import Event
from typing import Any

from sophia_pipeline.reliability import (
    CircuitOpenError,
    HttpClientConfig,
    RateLimit,
    ResilientHttpClient,
    RetryConfig,
    TimeoutConfig,
    breaker_for,
    rate_limiter_for,
)


def hammer(
    redis_url: str,
    server_url: str,
    limiter_name: str,
    requests_per_s: int,
    duration_s: float,
    ready: Event,
    go: Event,
    results: Any,
) -> None:
    """Send requests as fast as the shared limiter allows for ``duration_s`` seconds."""
    limiter = rate_limiter_for(limiter_name, RateLimit(requests=requests_per_s), redis_url)
    config = HttpClientConfig(
        retry=RetryConfig(max_attempts=1, base_delay_s=0.01, max_delay_s=0.01),
        timeouts=TimeoutConfig(connect_s=2, read_s=2),
        breaker_enabled=False,
    )
    sent = 0
    with ResilientHttpClient("hammer", server_url, config=config, limiter=limiter) as client:
        client.get("/warmup", limiter=None)  # connection set up before the clock starts
        ready.set()
        go.wait(30)
        deadline = time.monotonic() + duration_s
        while time.monotonic() < deadline:
            client.get("/ping")
            sent += 1
    results.put(sent)


def probe_breaker(redis_url: str, server_url: str, name: str, results: Any) -> None:
    """Call the server through breaker ``name``; report whether the call was refused."""
    breaker = breaker_for(name, redis_url, fail_max=2, reset_timeout_s=60)
    config = HttpClientConfig(retry=RetryConfig(max_attempts=1, base_delay_s=0.01))
    with ResilientHttpClient(name, server_url, config=config, breaker=breaker) as client:
        try:
            client.get("/flaky")
        except CircuitOpenError:
            results.put(("refused", breaker.current_state))
            return
        except Exception as exc:  # the test reports what happened instead
            results.put(("error", repr(exc)))
            return
    results.put(("sent", breaker.current_state))
