"""Every call the read API makes to a dependency, bounded in time and behind its breaker.

A dependency that is down must cost a caller little: each call runs on a worker thread
and is abandoned after ``timeout_s`` (a hung socket cannot hold a request), and its
failures feed that dependency's circuit breaker (``reliability.breaker``), so once it
opens, calls are refused at once without touching the dependency until the trial call
after ``reset_timeout_s``. The breakers are per dependency, so a dead vector store never
stops the KPI reads, which only need the warehouse and the cache.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import pybreaker

from sophia_pipeline.reliability import DependencyFailure, breaker_for
from sophia_pipeline.reliability.breaker import RedisLike

from .errors import DependencyUnavailable, ServingError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Threads for dependency calls of one process. A call abandoned at its deadline keeps its
# thread until the dependency answers or fails; the breaker stops new ones from piling up.
_POOL_SIZE = 16


class Guard:
    """Runs calls to one named dependency with a deadline and a circuit breaker."""

    def __init__(
        self,
        name: str,
        executor: concurrent.futures.Executor,
        *,
        timeout_s: float,
        breaker: pybreaker.CircuitBreaker,
    ) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self.breaker = breaker
        self._executor = executor

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)``, or :class:`DependencyUnavailable` naming this dependency.

        Errors the service raises on purpose (a bad request, not found) pass through
        untouched and do not count against the dependency."""
        try:
            return self.breaker.call(self._attempt, fn, *args)  # type: ignore[no-any-return]
        except pybreaker.CircuitBreakerError:
            raise DependencyUnavailable(
                self.name, "circuit breaker open after repeated failures; not called"
            ) from None
        except DependencyFailure as exc:
            raise DependencyUnavailable(self.name, exc.reason) from exc

    def _attempt(self, fn: Callable[..., T], *args: object) -> T:
        future = self._executor.submit(fn, *args)
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            raise DependencyFailure(self.name, f"no answer within {self.timeout_s:g} s") from None
        except ServingError:
            raise
        except Exception as exc:
            # Class name and a short message only: driver errors can carry a DSN or a host.
            reason = f"{exc.__class__.__name__}: {str(exc)[:160]}"
            raise DependencyFailure(self.name, reason) from exc

    @property
    def is_open(self) -> bool:
        return bool(self.breaker.current_state == pybreaker.STATE_OPEN)


class Guards:
    """One guard per dependency, sharing a thread pool."""

    def __init__(
        self,
        *,
        timeout_s: float,
        redis: RedisLike | None = None,
        prefix: str = "serving",
        fail_max: int = 3,
        reset_timeout_s: float = 15.0,
    ) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=_POOL_SIZE, thread_name_prefix="sophia-dep"
        )
        self._lock = threading.Lock()
        self._guards: dict[str, Guard] = {}
        self._timeout_s = timeout_s
        self._redis = redis
        self._prefix = prefix
        self._fail_max = fail_max
        self._reset_timeout_s = reset_timeout_s

    def __getitem__(self, name: str) -> Guard:
        with self._lock:
            guard = self._guards.get(name)
            if guard is None:
                breaker = breaker_for(
                    f"{self._prefix}.{name}",
                    self._redis,
                    fail_max=self._fail_max,
                    reset_timeout_s=self._reset_timeout_s,
                )
                guard = Guard(name, self._executor, timeout_s=self._timeout_s, breaker=breaker)
                self._guards[name] = guard
            return guard

    def shutdown(self) -> None:
        # Abandoned calls may still be blocked on a dead dependency: do not wait for them.
        self._executor.shutdown(wait=False, cancel_futures=True)
