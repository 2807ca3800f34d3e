"""A Redis client guard shared by the circuit breakers and the cache: after one Redis
error, fail fast for a while instead of paying a socket timeout per operation."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

log = logging.getLogger(__name__)

# How long a failed Redis is left alone before one operation tries it again.
RETRY_AFTER_S = 5.0


class GuardedRedis:
    """A Redis client that stops asking a failed Redis for a while.

    A dead or hung Redis would otherwise cost every operation a socket timeout (a
    breaker makes several per call; the cache one per read). After a Redis error every
    operation fails at once, without the network, for ``backoff_s``; then one operation
    tries again. The outage is
    logged once as a WARNING, the recovery once as INFO."""

    def __init__(self, client: Any, name: str, backoff_s: float | None = None) -> None:
        self._client = client
        self._name = name
        self._backoff_s = RETRY_AFTER_S if backoff_s is None else backoff_s
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self._client, attr)
        if not callable(target):
            return target

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if time.monotonic() < self._down_until:
                raise redis.ConnectionError("Redis marked unavailable after a recent error")
            try:
                result = target(*args, **kwargs)
            except redis.RedisError as exc:
                with self._lock:
                    self._down_until = time.monotonic() + self._backoff_s
                    first = not self._down
                    self._down = True
                if first:
                    log.warning(
                        "%s: Redis unavailable (%s); falling back, retrying Redis every %.0f s",
                        self._name,
                        exc.__class__.__name__,
                        self._backoff_s,
                    )
                raise
            if self._down:
                with self._lock:
                    back = self._down
                    self._down = False
                if back:
                    log.info("%s: Redis reachable again", self._name)
            return result

        return guarded
