"""The cache: Redis when configured and reachable, an in-process TTL cache otherwise.

A cache failure never fails a read: callers get a miss and a logged warning.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import dagster as dg
import redis
from pydantic import PrivateAttr

from sophia_pipeline.reliability.redis_guard import GuardedRedis

log = logging.getLogger(__name__)


class InProcessTTLCache:
    """A dict with expiry, for one process. Enough for the local profile."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= time.monotonic():
                del self._data[key]
                return None
            return value

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl_s, value)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def ttl(self, key: str) -> float | None:
        with self._lock:
            item = self._data.get(key)
            return None if item is None else max(0.0, item[0] - time.monotonic())


class RedisCache:
    def __init__(self, url: str, socket_timeout_s: float = 0.5) -> None:
        # Guarded: during an outage one read pays the socket timeout and logs one
        # warning; the rest miss at once until the guard tries Redis again.
        self._client: Any = GuardedRedis(
            redis.Redis.from_url(
                url, socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s
            ),
            "cache",
        )

    def ping(self) -> bool:
        return bool(self._client.ping())

    def get(self, key: str) -> bytes | None:
        value = self._client.get(key)
        return None if value is None else bytes(value)  # type: ignore[arg-type]

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._client.set(key, value, px=max(1, int(ttl_s * 1000)))

    def delete(self, key: str) -> None:
        self._client.delete(key)

    def ttl(self, key: str) -> float | None:
        ms = int(self._client.pttl(key))  # type: ignore[arg-type]
        return None if ms < 0 else ms / 1000


def _log_failure(op: str, key: str, exc: Exception) -> None:
    # A Redis outage is logged once, by the guard; each failed call during it is DEBUG.
    level = logging.DEBUG if isinstance(exc, redis.RedisError) else logging.WARNING
    log.log(level, "cache %s failed for %s: %s", op, key, exc)


class CacheResource(dg.ConfigurableResource):
    """``redis_url`` set and reachable: Redis. Otherwise (local profile only) an
    in-process TTL cache, with a warning. With ``require_redis`` (prod) an unreachable
    Redis is an error at start-up instead."""

    redis_url: str | None = None
    key_prefix: str = "sophia:"
    require_redis: bool = False

    _backend: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._backend = self.connect()

    def connect(self) -> InProcessTTLCache | RedisCache:
        if self.redis_url:
            backend = RedisCache(self.redis_url)
            try:
                backend.ping()
                return backend
            except Exception as exc:
                if self.require_redis:
                    raise RuntimeError(f"Redis at REDIS_URL is unreachable: {exc}") from exc
                log.warning("Redis unreachable (%s); using an in-process TTL cache", exc)
        else:
            log.warning("no Redis configured; using an in-process TTL cache")
        return InProcessTTLCache()

    @property
    def backend(self) -> InProcessTTLCache | RedisCache:
        if self._backend is None:
            self._backend = self.connect()
        return self._backend

    def get(self, key: str) -> bytes | None:
        try:
            return self.backend.get(self.key_prefix + key)
        except Exception as exc:
            _log_failure("read", key, exc)
            return None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        try:
            self.backend.set(self.key_prefix + key, value, ttl_s)
        except Exception as exc:
            _log_failure("write", key, exc)

    def delete(self, key: str) -> None:
        try:
            self.backend.delete(self.key_prefix + key)
        except Exception as exc:
            _log_failure("delete", key, exc)
