"""Redis stopped in the middle of a run, then started again on the same port: the cache
misses with ONE warning for the whole outage (it logged one per call before), never
fails a call, and uses Redis again once it answers (redis-py reconnects)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from sophia_pipeline.reliability import redis_guard
from sophia_pipeline.resources.cache import CacheResource, RedisCache
from sophia_pipeline_tests.conftest import free_port


def redis_on(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port).ping()
            return proc
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def test_redis_stopped_then_restarted_mid_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_guard, "RETRY_AFTER_S", 0.3)  # the guard's back-off, shortened
    port = free_port()
    server = redis_on(port, tmp_path)
    try:
        cache = CacheResource(redis_url=f"redis://127.0.0.1:{port}/0")
        assert isinstance(cache.backend, RedisCache)
        cache.set("k", b"v", 60)
        assert cache.get("k") == b"v"

        server.terminate()
        server.wait(10)
        with caplog.at_level(logging.DEBUG, logger="sophia_pipeline"):
            for i in range(20):
                assert cache.get(f"k{i}") is None  # a miss, never an error
                cache.set(f"k{i}", b"x", 60)
                cache.delete(f"k{i}")
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "Redis unavailable" in warnings[0].getMessage()

        caplog.clear()
        server = redis_on(port, tmp_path)  # back, same address, empty
        time.sleep(0.4)  # past the guard's back-off: the next call tries Redis again
        with caplog.at_level(logging.INFO, logger="sophia_pipeline"):
            cache.set("k", b"again", 60)
        assert cache.get("k") == b"again"
        assert redis.Redis(port=port).get("sophia:k") == b"again"  # really in Redis
        assert "Redis reachable again" in caplog.text
    finally:
        server.kill()
        server.wait(10)
