"""The cache against a real redis-server, and the in-process fallback."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from sophia_pipeline.resources.cache import CacheResource, InProcessTTLCache, RedisCache
from sophia_pipeline_tests.conftest import free_port, start_redis_server


def test_redis_cache_round_trip_and_ttl(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    cache = CacheResource(redis_url=redis_url)
    assert isinstance(cache.backend, RedisCache)
    cache.set("k", b"v", ttl_s=0.3)
    assert cache.get("k") == b"v"
    assert redis_client.get("sophia:k") == b"v"  # really in Redis, under the prefix
    assert 0 < redis_client.pttl("sophia:k") <= 300
    time.sleep(0.4)
    assert cache.get("k") is None


def test_redis_cache_delete(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    cache = CacheResource(redis_url=redis_url)
    cache.set("k", b"v", ttl_s=60)
    cache.delete("k")
    assert cache.get("k") is None


def test_unreachable_redis_falls_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cache = CacheResource(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING):
        backend = cache.backend
    assert isinstance(backend, InProcessTTLCache)
    assert "in-process" in caplog.text
    cache.set("k", b"v", 60)
    assert cache.get("k") == b"v"


def test_prod_refuses_an_unreachable_redis() -> None:
    cache = CacheResource(redis_url=f"redis://127.0.0.1:{free_port()}/0", require_redis=True)
    with pytest.raises(RuntimeError, match="unreachable"):
        cache.connect()


def test_in_process_ttl_expires() -> None:
    c = InProcessTTLCache()
    c.set("a", b"1", 0.05)
    assert c.get("a") == b"1"
    time.sleep(0.08)
    assert c.get("a") is None


def test_redis_outage_mid_use_is_one_warning_and_misses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proc, url = start_redis_server(tmp_path)
    try:
        cache = CacheResource(redis_url=url)
        cache.set("k", b"v", 60)
        assert cache.get("k") == b"v"
        proc.kill()
        proc.wait()
        caplog.set_level(logging.DEBUG, logger="sophia_pipeline")
        for _ in range(20):
            assert cache.get("k") is None  # a miss, never an error
            cache.set("k", b"w", 60)
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(loud) == 1 and "Redis unavailable" in loud[0].getMessage()
        assert not any(r.exc_info for r in caplog.records)
    finally:
        proc.kill()
        proc.wait()
