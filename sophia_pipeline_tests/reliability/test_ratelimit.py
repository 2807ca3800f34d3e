from __future__ import annotations

import logging
import multiprocessing
import time
import uuid

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from sophia_pipeline.reliability import (
    MemoryRateLimiter,
    RateLimit,
    RateLimitTimeout,
    RedisRateLimiter,
    gcra_reserve,
    rate_limiter_for,
)
from sophia_pipeline_tests.conftest import free_port
from sophia_pipeline_tests.reliability import workers
from sophia_pipeline_tests.reliability.fault_server import FaultServer


def _name() -> str:
    return f"api-{uuid.uuid4().hex[:8]}"


# -- the algorithm, alone ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=300_000), min_size=1, max_size=60),
    interval=st.integers(min_value=1_000, max_value=200_000),
    burst=st.integers(min_value=1, max_value=5),
)
def test_gcra_never_books_more_than_burst_plus_rate(
    gaps: list[int], interval: int, burst: int
) -> None:
    """Whatever the arrival pattern, any window W holds at most burst + W/interval slots."""
    tat: int | None = None
    now = 1_000_000_000
    slots: list[int] = []
    for gap in gaps:
        now += gap
        res = gcra_reserve(
            tat_us=tat, now_us=now, interval_us=interval, burst=burst, max_wait_us=10**12
        )
        assert res.granted and res.new_tat_us is not None
        slots.append(now + res.wait_us)
        tat = res.new_tat_us
    slots.sort()
    for i in range(len(slots)):
        for j in range(i + 1, len(slots)):
            window = slots[j] - slots[i]
            assert j - i + 1 <= burst + window // interval
    if burst == 1:
        assert all(b - a >= interval for a, b in zip(slots, slots[1:], strict=False))


def test_gcra_refuses_without_booking_when_the_wait_is_too_long() -> None:
    first = gcra_reserve(tat_us=None, now_us=0, interval_us=1000, burst=1, max_wait_us=0)
    assert first.granted and first.wait_us == 0 and first.new_tat_us == 1000
    refused = gcra_reserve(tat_us=1000, now_us=0, interval_us=1000, burst=1, max_wait_us=500)
    assert not refused.granted and refused.wait_us == 1000 and refused.new_tat_us is None


# -- in memory -------------------------------------------------------------------------


def test_memory_limiter_spaces_requests() -> None:
    limiter = MemoryRateLimiter(_name(), RateLimit(requests=20))
    started = time.monotonic()
    for _ in range(6):
        limiter.acquire()
    assert 0.24 <= time.monotonic() - started < 0.6


def test_no_redis_gives_a_memory_limiter_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sophia_pipeline.reliability")
    limiter = rate_limiter_for(_name(), RateLimit(requests=5), None)
    assert isinstance(limiter, MemoryRateLimiter)
    assert any("no Redis configured" in r.getMessage() for r in caplog.records)


# -- in Redis --------------------------------------------------------------------------


def test_max_wait_raises_at_once_and_books_nothing(redis_client: redis.Redis) -> None:
    limit = RateLimit(requests=2)
    limiter = rate_limiter_for(_name(), limit, redis_client)
    assert limiter.acquire() == 0
    started = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(max_wait_s=0.1)
    assert time.monotonic() - started < 0.1
    waited = limiter.acquire(max_wait_s=1.0)  # the refused call did not push the slot on
    assert 0.3 < waited <= limit.interval_s  # 0.5 s plus the 5% margin


def test_penalize_holds_back_every_holder(redis_url: str, redis_client: redis.Redis) -> None:
    name = _name()
    limit = RateLimit(requests=100)
    one = RedisRateLimiter(name, limit, redis_client)
    other = RedisRateLimiter(name, limit, redis.Redis.from_url(redis_url))  # "another worker"
    one.acquire()
    one.penalize(0.5)
    started = time.monotonic()
    other.acquire()
    assert 0.45 <= time.monotonic() - started < 0.8


def test_uses_redis_time_not_the_client_clock(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = rate_limiter_for(_name(), RateLimit(requests=10), redis_client)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)  # a badly skewed host
    started = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert 0.29 <= time.monotonic() - started < 0.6


def test_unreachable_redis_degrades_to_per_process_limiting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sophia_pipeline.reliability")
    limiter = rate_limiter_for(_name(), RateLimit(requests=20), f"redis://127.0.0.1:{free_port()}")
    started = time.monotonic()
    for _ in range(3):
        limiter.acquire()
    assert 0.09 <= time.monotonic() - started < 0.5
    assert sum("Redis unavailable" in r.getMessage() for r in caplog.records) == 1


def test_two_processes_share_one_limit(
    fault_server: FaultServer, redis_client: redis.Redis, redis_url: str
) -> None:
    rps, duration = 10, 3.0
    name = _name()
    fault_server.route("GET", "/warmup", lambda r: {"ok": True})
    fault_server.route("GET", "/ping", lambda r: {"ok": True})
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    go = ctx.Event()
    readies = [ctx.Event() for _ in range(2)]
    procs = [
        ctx.Process(
            target=workers.hammer,
            args=(redis_url, fault_server.url, name, rps, duration, ready, go, results),
        )
        for ready in readies
    ]
    for p in procs:
        p.start()
    for ready in readies:
        assert ready.wait(30)
    go.set()
    sent = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=10)

    hits = sorted(h.t for h in fault_server.hits_for("GET", "/ping"))
    assert len(hits) == sum(sent)
    assert all(n >= 5 for n in sent), sent  # both processes really took part
    # Together they used (close to) the whole budget, and on average never more.
    assert len(hits) >= rps * duration - 3
    assert (len(hits) - 1) / (hits[-1] - hits[0]) <= rps * 1.02
    # Server-side arrival times: N+1 consecutive requests always span at least a second
    # (the limiter's 5% margin absorbs the few ms of arrival noise either way).
    spans = [hits[i + rps] - hits[i] for i in range(len(hits) - rps)]
    assert min(spans) >= 1.0, min(spans)
    # So no one-second window at the server ever holds more than the limit.
    for i, start in enumerate(hits):
        in_window = sum(1 for t in hits[i:] if t < start + 1.0)
        assert in_window <= rps
