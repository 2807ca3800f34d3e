from __future__ import annotations

import logging
import multiprocessing
import time
import uuid

import pybreaker
import pytest
import redis

from sophia_pipeline.reliability import (
    CircuitOpenError,
    HttpClientConfig,
    HttpStatusError,
    ResilientHttpClient,
    RetryConfig,
    TimeoutConfig,
    breaker_for,
)
from sophia_pipeline.reliability.breaker import reset_memory_breakers
from sophia_pipeline_tests.conftest import free_port
from sophia_pipeline_tests.reliability import workers
from sophia_pipeline_tests.reliability.fault_server import FaultServer

ONE_SHOT = HttpClientConfig(
    retry=RetryConfig(max_attempts=1, base_delay_s=0.01, max_delay_s=0.01),
    timeouts=TimeoutConfig(connect_s=1, read_s=1),
)


def _name() -> str:
    return f"dep-{uuid.uuid4().hex[:8]}"


def _client(url: str, breaker: pybreaker.CircuitBreaker) -> ResilientHttpClient:
    return ResilientHttpClient(breaker.name or "dep", url, config=ONE_SHOT, breaker=breaker)


class _Switch:
    """A route whose status the test flips between failing and healthy."""

    def __init__(self, status: int = 500) -> None:
        self.status = status

    def __call__(self, request: object) -> tuple[int, dict[str, bool]]:
        return self.status, {"ok": self.status < 400}


def test_opens_after_n_failures_fails_fast_then_one_trial_closes_it(
    fault_server: FaultServer, redis_client: redis.Redis
) -> None:
    switch = _Switch(500)
    fault_server.route("GET", "/flaky", switch)
    breaker = breaker_for(_name(), redis_client, fail_max=3, reset_timeout_s=2.0)
    with _client(fault_server.url, breaker) as client:
        for _ in range(3):
            with pytest.raises(HttpStatusError):  # the tripping call keeps its real error
                client.get("/flaky")
        assert breaker.current_state == pybreaker.STATE_OPEN

        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(CircuitOpenError):
                client.get("/flaky")
        assert time.monotonic() - started < 0.5
        assert len(fault_server.hits_for("GET", "/flaky")) == 3  # nothing reached the server

        time.sleep(2.05)
        switch.status = 200
        assert client.get("/flaky").data == {"ok": True}
        assert len(fault_server.hits_for("GET", "/flaky")) == 4
        assert breaker.current_state == pybreaker.STATE_CLOSED
        assert breaker.fail_counter == 0


def test_failed_trial_reopens(fault_server: FaultServer, redis_client: redis.Redis) -> None:
    fault_server.route("GET", "/flaky", _Switch(503))
    breaker = breaker_for(_name(), redis_client, fail_max=1, reset_timeout_s=2.0)
    with _client(fault_server.url, breaker) as client:
        with pytest.raises(HttpStatusError):
            client.get("/flaky")
        time.sleep(2.05)
        with pytest.raises(HttpStatusError):  # the trial went out and failed
            client.get("/flaky")
        assert breaker.current_state == pybreaker.STATE_OPEN
        with pytest.raises(CircuitOpenError):
            client.get("/flaky")
    assert len(fault_server.hits_for("GET", "/flaky")) == 2


def test_client_errors_do_not_open_the_breaker(
    fault_server: FaultServer, redis_client: redis.Redis
) -> None:
    fault_server.route("GET", "/missing", lambda r: (404, {"error": "nope"}))
    breaker = breaker_for(_name(), redis_client, fail_max=2, reset_timeout_s=30)
    with _client(fault_server.url, breaker) as client:
        for _ in range(4):
            with pytest.raises(HttpStatusError):
                client.get("/missing")
    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert len(fault_server.hits_for("GET", "/missing")) == 4


def test_another_process_sees_the_breaker_open(
    fault_server: FaultServer, redis_client: redis.Redis, redis_url: str
) -> None:
    name = _name()
    fault_server.route("GET", "/flaky", _Switch(500))
    breaker = breaker_for(name, redis_client, fail_max=2, reset_timeout_s=60)
    with _client(fault_server.url, breaker) as client:
        for _ in range(2):
            with pytest.raises(HttpStatusError):
                client.get("/flaky")
    assert len(fault_server.hits_for("GET", "/flaky")) == 2

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    child = ctx.Process(
        target=workers.probe_breaker, args=(redis_url, fault_server.url, name, results)
    )
    child.start()
    outcome = results.get(timeout=30)
    child.join(timeout=10)
    assert outcome == ("refused", pybreaker.STATE_OPEN)
    assert len(fault_server.hits_for("GET", "/flaky")) == 2  # the child sent nothing


def test_only_one_worker_runs_the_half_open_trial(redis_client: redis.Redis) -> None:
    name = _name()
    # Two breaker objects on one Redis namespace behave like two worker processes.
    first = breaker_for(name, redis_client, fail_max=1, reset_timeout_s=1.0, trial_ttl_s=10)
    second = breaker_for(name, redis_client, fail_max=1, reset_timeout_s=1.0, trial_ttl_s=10)

    def boom() -> None:
        raise HttpStatusError(dependency=name, method="GET", url="/", status_code=500)

    with pytest.raises(HttpStatusError):
        first.call(boom)
    assert second.current_state == pybreaker.STATE_OPEN
    time.sleep(2.05)  # opened_at has 1 s resolution in pybreaker's Redis storage

    seen_inside: list[str] = []

    def trial() -> str:
        # While this trial runs, the other "worker" must be refused, not sent through.
        with pytest.raises(CircuitOpenError):
            second.call(lambda: seen_inside.append("second ran"))
        return "ok"

    assert first.call(trial) == "ok"
    assert seen_inside == []
    assert first.current_state == pybreaker.STATE_CLOSED
    assert second.call(lambda: "after") == "after"


def test_each_breaker_has_its_own_namespace(redis_client: redis.Redis) -> None:
    a = breaker_for(_name(), redis_client, fail_max=1, reset_timeout_s=30)
    b = breaker_for(_name(), redis_client, fail_max=1, reset_timeout_s=30)

    def boom() -> None:
        raise HttpStatusError(dependency="a", method="GET", url="/", status_code=502)

    with pytest.raises(HttpStatusError):
        a.call(boom)
    assert a.current_state == pybreaker.STATE_OPEN
    assert b.current_state == pybreaker.STATE_CLOSED
    keys = {k.decode() for k in redis_client.keys("sophia:breaker:*")}
    assert f"sophia:breaker:{a.name}:pybreaker:state" in keys
    assert f"sophia:breaker:{b.name}:pybreaker:state" in keys


def test_decode_responses_client_is_rejected(redis_url: str) -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        breaker_for(_name(), redis.Redis.from_url(redis_url, decode_responses=True))


def test_without_redis_an_in_memory_breaker_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reset_memory_breakers()
    caplog.set_level(logging.WARNING, logger="sophia_pipeline.reliability")
    name = _name()
    breaker = breaker_for(name, None, fail_max=1, reset_timeout_s=30)
    assert breaker is breaker_for(name, None)  # one per name and process
    assert any("no Redis configured" in r.getMessage() for r in caplog.records)

    def boom() -> None:
        raise HttpStatusError(dependency=name, method="GET", url="/", status_code=500)

    with pytest.raises(HttpStatusError):
        breaker.call(boom)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(lambda: None)


def test_unreachable_redis_falls_back_to_closed(fault_server: FaultServer) -> None:
    fault_server.route("GET", "/ok", lambda r: {"ok": True})
    dead = f"redis://127.0.0.1:{free_port()}/0"
    breaker = breaker_for(_name(), dead, fail_max=1, reset_timeout_s=30)  # must not raise
    assert breaker.current_state == pybreaker.STATE_CLOSED
    with _client(fault_server.url, breaker) as client:
        assert client.get("/ok").data == {"ok": True}


def test_dead_redis_is_one_warning_not_a_traceback_per_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2)
    caplog.set_level(logging.DEBUG, logger="sophia_pipeline")
    caplog.set_level(logging.DEBUG, logger="pybreaker")
    breaker = breaker_for(_name(), dead, fail_max=3, reset_timeout_s=30)
    for _ in range(20):
        assert breaker.call(lambda: 7) == 7
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in loud] == [logging.WARNING]
    assert "Redis unavailable" in loud[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


class _HungRedis:
    """A TCP server that accepts connections and never answers: a hung Redis."""

    def __init__(self) -> None:
        import socket
        import threading

        self.accepted = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self._sock.close()
        for c in self._held:
            c.close()


def test_hung_redis_costs_one_timeout_per_backoff_not_one_per_operation() -> None:
    hung = _HungRedis()
    try:
        client = redis.Redis.from_url(
            f"redis://127.0.0.1:{hung.port}/0", socket_timeout=0.2, socket_connect_timeout=0.2
        )
        breaker = breaker_for(_name(), client, fail_max=3, reset_timeout_s=30)
        for _ in range(20):
            assert breaker.call(lambda: 7) == 7
        # Each Redis operation that reaches the hung server opens a connection and waits
        # for its timeout; within one backoff window only the first one may.
        assert hung.accepted <= 2
    finally:
        hung.close()
