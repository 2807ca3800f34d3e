"""Per-dependency circuit breakers (pybreaker) whose state every worker shares via Redis.

One breaker per dependency name, each in its own Redis namespace
(``sophia:breaker:<name>:pybreaker:*``); a shared namespace would make one dead API
open the breaker of every other. When ``fail_max`` consecutive calls fail (a *call* is
one retried request, so each failure already survived the retry policy), the breaker
opens for ``reset_timeout_s`` and every process refuses calls without touching the
network. After the timeout one trial call goes through: success closes the breaker,
failure re-opens it for another timeout.

Pitfalls this module handles:

- The Redis client must return bytes: ``CircuitRedisStorage`` calls ``.decode()`` on
  what it reads, so a client built with ``decode_responses=True`` breaks it. Such a
  client is rejected with ``ValueError``.
- pybreaker lets every process that sees "half-open" make a trial call at once. A
  listener here takes a short Redis lock (``SET NX PX``) so only one worker in the whole
  fleet runs the trial; the others fail fast as if the breaker were still open.
- pybreaker stores ``opened_at`` in whole seconds, so the effective open period is
  between ``reset_timeout_s - 1`` and ``reset_timeout_s``: keep ``reset_timeout_s``
  at several seconds or more. The comparison uses each worker's own clock; NTP-level
  skew only shifts when the trial happens.

Fallback state: when Redis cannot be reached, pybreaker reports the *fallback* state,
which is ``closed`` here. A Redis outage must not halt ingestion on its own; with the
breaker closed, calls are still bounded by the retry policy and Dagster's run retries.
Failures during the outage are not counted (the counter lives in Redis), so a breaker
cannot open until Redis is back. Pass ``fallback_state="open"`` for a dependency where
hammering during an unobservable outage is worse than pausing.

Without any Redis configured (local profile) the breaker lives in process memory, one
per dependency name and process, with a logged warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from typing import Any

import pybreaker
import redis

from .errors import CircuitOpenError
from .redis_guard import GuardedRedis
from .retry import is_retryable

log = logging.getLogger(__name__)

NAMESPACE_PREFIX = "sophia:breaker"

RedisLike = str | redis.Redis

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()
_memory_breakers: dict[str, pybreaker.CircuitBreaker] = {}
_memory_lock = threading.Lock()


def resolve_redis(source: RedisLike | None, *, socket_timeout_s: float = 1.0) -> redis.Redis | None:
    """A bytes-returning ``redis.Redis`` from a URL or a client; ``None`` for no Redis.

    Clients built from URLs are shared per URL and process, so breakers and limiters do
    not each open their own pool.
    """
    if source is None or (isinstance(source, str) and not source.strip()):
        return None
    if isinstance(source, str):
        key = f"{os.getpid()}:{source}"
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    source,
                    decode_responses=False,
                    socket_timeout=socket_timeout_s,
                    socket_connect_timeout=socket_timeout_s,
                    health_check_interval=30,
                )
                _clients[key] = client
    else:
        client = source
    if client.get_connection_kwargs().get("decode_responses"):
        raise ValueError(
            "the Redis client for breakers must not use decode_responses=True "
            "(pybreaker's CircuitRedisStorage decodes bytes itself)"
        )
    return client


def counts_as_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the dependency is unhealthy (and so feeds the breaker).

    The same errors the retry policy treats as transient: 5xx, 429, timeouts, connection
    and protocol errors, bad bodies. A 400/401/404 is our mistake, not an outage: it
    must not open the breaker for everyone.
    """
    return is_retryable(exc)


class _QuietLogger:
    """Stands in for pybreaker's storage logger, which logs ``exception`` (ERROR with a
    traceback) on every Redis error: several per breaker call during an outage.
    :class:`GuardedRedis` logs the outage once instead; these go to DEBUG."""

    _log = logging.getLogger(f"{__name__}.storage")

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log.debug(msg, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


class _TolerantRedisStorage(pybreaker.CircuitRedisStorage):
    """``CircuitRedisStorage`` that survives a Redis that is down: its constructor (upstream
    initialises its keys with unguarded ``SETNX`` calls, so a worker starting during an
    outage would crash) and every call (one warning per outage, no traceback storm, no
    socket timeout per operation: see :class:`GuardedRedis`)."""

    logger = _QuietLogger()  # type: ignore[assignment]

    def _initialize_redis_state(self, state: str) -> None:
        with contextlib.suppress(redis.RedisError):
            super()._initialize_redis_state(state)


class _SingleTrialGate(pybreaker.CircuitBreakerListener):
    """Lets exactly one worker (fleet-wide) run the half-open trial call."""

    def __init__(self, name: str, client: redis.Redis, key: str, ttl_ms: int) -> None:
        self._name = name
        self._client = client
        self._key = key
        self._ttl_ms = ttl_ms
        self._token = f"{os.getpid()}:{uuid.uuid4().hex}".encode()

    def before_call(
        self, cb: pybreaker.CircuitBreaker, func: Any, *args: Any, **kwargs: Any
    ) -> None:
        if cb.current_state != pybreaker.STATE_HALF_OPEN:
            return
        try:
            won = self._client.set(self._key, self._token, nx=True, px=self._ttl_ms)
            if not won and self._client.get(self._key) == self._token:
                won = True  # our own earlier trial (same process) still holds it
        except redis.RedisError:
            return  # no coordination possible: behave like plain pybreaker
        if not won:
            raise CircuitOpenError(self._name, "half-open, another worker runs the trial call")

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        if new_state.name in (pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN):
            # On a Redis error the lock simply expires on its own.
            with contextlib.suppress(redis.RedisError):
                self._client.delete(self._key)


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        old = old_state.name if old_state is not None else None
        level = logging.WARNING if new_state.name == pybreaker.STATE_OPEN else logging.INFO
        log.log(level, "circuit breaker %r: %s -> %s", cb.name, old, new_state.name)


def _exclude(exc: BaseException) -> bool:
    return not counts_as_failure(exc)


def breaker_for(
    name: str,
    redis_source: RedisLike | None = None,
    *,
    fail_max: int = 5,
    reset_timeout_s: float = 60.0,
    fallback_state: str = pybreaker.STATE_CLOSED,
    trial_ttl_s: float | None = None,
    namespace_prefix: str = NAMESPACE_PREFIX,
) -> pybreaker.CircuitBreaker:
    """The circuit breaker for dependency ``name``.

    ``redis_source``: a Redis URL or a bytes-returning ``redis.Redis``; every process
    using the same Redis and ``name`` shares one breaker. ``None`` gives a per-process
    in-memory breaker (warning logged), the same object for the same name.

    ``trial_ttl_s`` bounds how long one worker may hold the half-open trial before
    another may try (default: ``reset_timeout_s``); set it above your longest retried
    call.

    The breaker re-raises the tripping call's own error; later refusals raise
    :class:`CircuitOpenError` (a ``pybreaker.CircuitBreakerError``).
    """
    if fail_max < 1:
        raise ValueError("fail_max must be >= 1")
    if reset_timeout_s <= 0:
        raise ValueError("reset_timeout_s must be > 0")
    if fallback_state not in (pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN):
        raise ValueError("fallback_state must be 'closed' or 'open'")

    client = resolve_redis(redis_source)
    if client is None:
        with _memory_lock:
            existing = _memory_breakers.get(name)
            if existing is not None:
                return existing
            log.warning(
                "circuit breaker %r: no Redis configured; state is per process "
                "(other workers will not see it open)",
                name,
            )
            breaker = pybreaker.CircuitBreaker(
                fail_max=fail_max,
                reset_timeout=reset_timeout_s,
                exclude=[_exclude],
                listeners=[_LogStateChanges()],
                name=name,
                throw_new_error_on_trip=False,
            )
            _memory_breakers[name] = breaker
            return breaker

    namespace = f"{namespace_prefix}:{name}"
    guarded: Any = GuardedRedis(client, f"circuit breaker {name!r}")
    storage = _TolerantRedisStorage(
        pybreaker.STATE_CLOSED,
        guarded,
        namespace=namespace,
        fallback_circuit_state=fallback_state,
    )
    ttl_ms = max(1, int((trial_ttl_s if trial_ttl_s is not None else reset_timeout_s) * 1000))
    gate = _SingleTrialGate(name, guarded, f"{namespace}:trial", ttl_ms)
    return pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout_s,
        exclude=[_exclude],
        listeners=[gate, _LogStateChanges()],
        state_storage=storage,
        name=name,
        throw_new_error_on_trip=False,
    )


def reset_memory_breakers() -> None:
    """Forget in-memory breakers (tests; a long-lived process after reconfiguration)."""
    with _memory_lock:
        _memory_breakers.clear()
