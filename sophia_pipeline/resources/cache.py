"""The cache: Redis when configured and reachable, an in-process TTL cache otherwise.

A cache failure never fails a read: callers get a miss and a logged warning.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

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
        import redis

        self._client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s
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


class CacheResource(dg.ConfigurableResource):
    """``redis_url`` set and reachable: Redis. Otherwise (local profile only) an
    in-process TTL cache, with a warning. With ``require_redis`` (prod) an unreachable
    Redis is an error at start-up instead."""

    redis_url: str | None = None
    key_prefix: str = "sophia:"
    require_redis: bool = False

    _backend: Any = PrivateAttr(default=None)
    _outage: bool = PrivateAttr(default=False)

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
            value = self.backend.get(self.key_prefix + key)
        except Exception as exc:
            self._failed("read", key, exc)
            return None
        self._answered()
        return value

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        try:
            self.backend.set(self.key_prefix + key, value, ttl_s)
        except Exception as exc:
            self._failed("write", key, exc)
            return
        self._answered()

    def delete(self, key: str) -> None:
        try:
            self.backend.delete(self.key_prefix + key)
        except Exception as exc:
            self._failed("delete", key, exc)
            return
        self._answered()

    def _failed(self, op: str, key: str, exc: Exception) -> None:
        # One warning per outage, not one per call: a Redis stopped mid-run would
        # otherwise bury the run's log under identical lines.
        if self._outage:
            log.debug("cache %s failed for %s: %s", op, key, exc)
            return
        self._outage = True
        log.warning(
            "cache unavailable (%s failed for %s: %s); reads miss and writes are dropped "
            "until it answers again",
            op,
            key,
            exc,
        )

    def _answered(self) -> None:
        if self._outage:
            self._outage = False
            log.info("cache answering again")
