"""A rate limiter shared by every worker process, through Redis.

Algorithm: GCRA (the generic cell rate algorithm, a.k.a. "virtual scheduling") in
*reservation* form. One Redis key per API holds the theoretical arrival time (TAT) of
the next request. ``acquire()`` runs one Lua script that reads Redis's own clock
(``TIME``), books the earliest slot that keeps the rate, and returns how long to sleep
until it. Why this shape:

- One round trip per request and no polling: waiters queue up in booking order instead
  of racing each other every few milliseconds.
- Redis server time only, so workers on hosts with skewed clocks still agree (the
  ``limits`` library's Redis moving window stamps entries with the *client* clock).
- With ``burst=1`` requests are spaced exactly ``period/requests`` apart, so no window of
  ``period`` seconds ever holds more than ``requests`` bookings.
- ``penalize()`` pushes the shared TAT forward: when one worker gets a 429 with
  ``Retry-After``, or a vendor header says the quota is spent, every worker pauses.

If a slot cannot be had within ``max_wait_s`` nothing is booked and ``RateLimitTimeout``
is raised at once, rather than sleeping only to fail.

Without Redis (local profile, or Redis unreachable) the same algorithm runs in process
memory, with a logged warning: the limit then holds per process only.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis
from pydantic import BaseModel, ConfigDict, Field

from .breaker import RedisLike, resolve_redis
from .errors import RateLimitTimeout

log = logging.getLogger(__name__)

KEY_PREFIX = "sophia:ratelimit"


class RateLimit(BaseModel):
    """``requests`` per ``period_s`` seconds; ``burst`` of them may go back to back.

    ``burst=1`` (default) spaces requests evenly, the only setting under which *every*
    window of ``period_s`` holds at most ``requests`` requests. ``margin`` widens the
    spacing a little: slots are booked exactly by Redis time, but requests reach the API
    a few milliseconds early or late, and without slack N+1 of them can land inside one
    window at the vendor's end.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: int = Field(ge=1)
    period_s: float = Field(default=1.0, gt=0)
    burst: int = Field(default=1, ge=1)
    margin: float = Field(default=0.05, ge=0, le=0.5)

    @property
    def interval_s(self) -> float:
        return self.period_s / self.requests * (1 + self.margin)


@dataclass(frozen=True)
class Reservation:
    """Outcome of one GCRA booking attempt, all times in microseconds."""

    granted: bool
    wait_us: int
    new_tat_us: int | None


def gcra_reserve(
    *, tat_us: int | None, now_us: int, interval_us: int, burst: int, max_wait_us: int
) -> Reservation:
    """Book the earliest slot at or after ``now_us`` (pure; mirrored by the Lua script).

    ``tat_us`` is the stored theoretical arrival time (``None`` when the key is absent).
    The slot is ``max(tat, now) - (burst - 1) * interval``; booking moves TAT on by one
    interval. When the slot is further off than ``max_wait_us`` nothing is booked.
    """
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    allow_at = tat - (burst - 1) * interval_us
    wait = max(0, allow_at - now_us)
    if wait > max_wait_us:
        return Reservation(granted=False, wait_us=wait, new_tat_us=None)
    return Reservation(granted=True, wait_us=wait, new_tat_us=tat + interval_us)


# KEYS[1]: the TAT key. ARGV: interval_us, burst, max_wait_us.
# Returns {granted (0/1), wait_us}. Integers are formatted with %.0f because Redis turns
# Lua numbers into strings with limited precision otherwise (epoch microseconds > 1e15).
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = math.max(tonumber(stored), now)
end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
if wait > max_wait then
  return {0, string.format('%.0f', wait)}
end
local new_tat = tat + interval
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, string.format('%.0f', wait)}
"""

# KEYS[1]: the TAT key. ARGV: pause_us, interval_us, burst.
# Moves TAT so that the next booking is no earlier than now + pause.
_PENALIZE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pause = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local target = now + pause + (burst - 1) * interval
local stored = redis.call('GET', KEYS[1])
if stored and tonumber(stored) >= target then
  return 0
end
local ttl_ms = math.ceil((target - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', target), 'PX', ttl_ms)
return 1
"""


class RateLimiter(Protocol):
    """What the HTTP client needs from a limiter."""

    name: str
    limit: RateLimit

    def acquire(self, max_wait_s: float | None = None) -> float:
        """Block until a request may go; return the seconds waited."""
        ...

    def penalize(self, pause_s: float) -> None:
        """Hold every holder of this limiter back for ``pause_s`` seconds from now."""
        ...


class MemoryRateLimiter:
    """GCRA in process memory: correct for threads of one process, not across processes."""

    def __init__(self, name: str, limit: RateLimit, *, default_max_wait_s: float = 60.0) -> None:
        self.name = name
        self.limit = limit
        self.default_max_wait_s = default_max_wait_s
        self._tat_us: int | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _now_us() -> int:
        return time.monotonic_ns() // 1000

    def acquire(self, max_wait_s: float | None = None) -> float:
        max_wait = self.default_max_wait_s if max_wait_s is None else max_wait_s
        with self._lock:
            res = gcra_reserve(
                tat_us=self._tat_us,
                now_us=self._now_us(),
                interval_us=_interval_us(self.limit),
                burst=self.limit.burst,
                max_wait_us=int(max_wait * 1_000_000),
            )
            if res.granted:
                self._tat_us = res.new_tat_us
        return _finish(self.name, res, max_wait)

    def penalize(self, pause_s: float) -> None:
        if pause_s <= 0:
            return
        with self._lock:
            target = (
                self._now_us()
                + int(pause_s * 1_000_000)
                + (self.limit.burst - 1) * _interval_us(self.limit)
            )
            if self._tat_us is None or self._tat_us < target:
                self._tat_us = target


class RedisRateLimiter:
    """GCRA whose state lives in Redis and whose clock is Redis's ``TIME``.

    On a Redis error the call is served by a per-process :class:`MemoryRateLimiter`
    (warning logged, at most once a minute): a Redis blip slows nothing down but the
    limit briefly holds per process instead of globally.
    """

    def __init__(
        self,
        name: str,
        limit: RateLimit,
        client: redis.Redis,
        *,
        key_prefix: str = KEY_PREFIX,
        default_max_wait_s: float = 60.0,
    ) -> None:
        self.name = name
        self.limit = limit
        self.key = f"{key_prefix}:{name}"
        self.default_max_wait_s = default_max_wait_s
        self._client = client
        self._reserve = client.register_script(_RESERVE_LUA)
        self._penalize = client.register_script(_PENALIZE_LUA)
        self._fallback = MemoryRateLimiter(name, limit, default_max_wait_s=default_max_wait_s)
        self._last_warning = -math.inf

    def _warn_fallback(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= 60:
            self._last_warning = now
            log.warning(
                "rate limiter %r: Redis unavailable (%s); limiting per process only",
                self.name,
                exc.__class__.__name__,
            )

    def acquire(self, max_wait_s: float | None = None) -> float:
        max_wait = self.default_max_wait_s if max_wait_s is None else max_wait_s
        try:
            granted, wait_us = self._reserve(
                keys=[self.key],
                args=[_interval_us(self.limit), self.limit.burst, int(max_wait * 1_000_000)],
            )
        except redis.RedisError as exc:
            self._warn_fallback(exc)
            return self._fallback.acquire(max_wait)
        res = Reservation(granted=bool(int(granted)), wait_us=int(wait_us), new_tat_us=None)
        return _finish(self.name, res, max_wait)

    def penalize(self, pause_s: float) -> None:
        if pause_s <= 0:
            return
        try:
            self._penalize(
                keys=[self.key],
                args=[int(pause_s * 1_000_000), _interval_us(self.limit), self.limit.burst],
            )
        except redis.RedisError as exc:
            self._warn_fallback(exc)
        # The local fallback must honour the pause too, should Redis drop out next.
        self._fallback.penalize(pause_s)


def _interval_us(limit: RateLimit) -> int:
    return max(1, round(limit.interval_s * 1_000_000))


def _finish(name: str, res: Reservation, max_wait_s: float) -> float:
    wait_s = res.wait_us / 1_000_000
    if not res.granted:
        raise RateLimitTimeout(name, wait_s, max_wait_s)
    if wait_s > 0:
        if wait_s >= 1:
            log.info("rate limiter %r: waiting %.2fs for a slot", name, wait_s)
        time.sleep(wait_s)
    return wait_s


def rate_limiter_for(
    name: str,
    limit: RateLimit,
    redis_source: RedisLike | None = None,
    *,
    default_max_wait_s: float = 60.0,
    key_prefix: str = KEY_PREFIX,
) -> RateLimiter:
    """The limiter for API ``name``: shared through Redis when given one, else in memory.

    ``redis_source`` is a URL or a ``redis.Redis``; every process that passes the same
    Redis and ``name`` shares one budget. Give each API (and each separately limited
    endpoint family, e.g. HubSpot search) its own ``name``.
    """
    client = resolve_redis(redis_source)
    if client is None:
        log.warning(
            "rate limiter %r: no Redis configured; limiting per process only (%s req / %gs)",
            name,
            limit.requests,
            limit.period_s,
        )
        return MemoryRateLimiter(name, limit, default_max_wait_s=default_max_wait_s)
    return RedisRateLimiter(
        name, limit, client, key_prefix=key_prefix, default_max_wait_s=default_max_wait_s
    )
