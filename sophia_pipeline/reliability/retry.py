"""Retry policy for one call to a dependency, built on tenacity.

Within one call we retry what is plausibly transient (5xx, 429, connection errors,
timeouts, truncated or non-JSON bodies) with exponential backoff and *full* jitter
(``wait_random_exponential``: uniform in ``[0, min(max, base * 2**n)]``), so a fleet of
workers that failed together does not retry together. A ``Retry-After`` from the server
is a floor on the wait, never a suggestion. Both the number of attempts and the total
time are capped: a call that would outlive ``max_total_s`` gives up *before* sleeping,
leaving longer outages to Dagster's run-level ``RetryPolicy``.

Other 4xx are the caller's bug (bad token, bad request) and fail at once.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import tenacity
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tenacity.wait import wait_base

from .errors import (
    DependencyFailure,
    HttpStatusError,
    InvalidResponseError,
    RateLimitedError,
    TransportError,
)

log = logging.getLogger(__name__)


class RetryConfig(BaseModel):
    """How hard one call tries. Defaults suit production; tests shrink them to ms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1, description="Attempts in all, the first included.")
    base_delay_s: float = Field(default=0.5, gt=0, description="Backoff window of the 1st retry.")
    max_delay_s: float = Field(default=30.0, gt=0, description="Cap on one backoff window.")
    max_total_s: float = Field(
        default=120.0, gt=0, description="No attempt starts after this long since the first."
    )

    @model_validator(mode="after")
    def _delays_ordered(self) -> RetryConfig:
        if self.max_delay_s < self.base_delay_s:
            raise ValueError("max_delay_s must be >= base_delay_s")
        return self


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    ``now`` should be the response's own ``Date`` when it has one, so a skewed local
    clock does not stretch or shrink the wait. Garbage yields ``None``; past dates 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date header (e.g. ``Date``) as an aware datetime, or ``None``."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_TRANSIENT_TRANSPORT = (
    httpx.TimeoutException,  # connect/read/write/pool timeouts
    httpx.NetworkError,  # connect refused/reset, read/write/close errors
    httpx.RemoteProtocolError,  # peer closed mid-body: a truncated response
)


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt of the same request could plausibly succeed."""
    if isinstance(exc, RateLimitedError):
        return True
    if isinstance(exc, HttpStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    if isinstance(
        exc, InvalidResponseError | TransportError | DependencyFailure | json.JSONDecodeError
    ):
        return True
    return isinstance(exc, _TRANSIENT_TRANSPORT)


def retry_after_of(exc: BaseException | None) -> float | None:
    """The server-imposed minimum wait carried by ``exc``, if any."""
    if isinstance(exc, HttpStatusError):
        return exc.retry_after_s
    return None


def describe_exception(exc: BaseException | None) -> str:
    """A short, secret-free reason for log lines."""
    if exc is None:
        return "no exception"
    if isinstance(exc, HttpStatusError):
        extra = f", Retry-After {exc.retry_after_s:g}s" if exc.retry_after_s is not None else ""
        return f"HTTP {exc.status_code}{extra}"
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text[:200]}"


class wait_full_jitter_or_retry_after(wait_base):  # noqa: N801 - tenacity's naming style
    """Full-jitter exponential backoff, raised to the server's ``Retry-After`` if longer."""

    def __init__(self, base_delay_s: float, max_delay_s: float) -> None:
        self._backoff = tenacity.wait_random_exponential(multiplier=base_delay_s, max=max_delay_s)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        backoff = self._backoff(retry_state)
        outcome = retry_state.outcome
        floor = retry_after_of(outcome.exception() if outcome is not None else None)
        return backoff if floor is None else max(backoff, floor)


def retrying(
    config: RetryConfig,
    *,
    name: str,
    describe: Callable[[BaseException | None], str] = describe_exception,
    logger: logging.Logger | None = None,
    retry_if: Callable[[BaseException], bool] = is_retryable,
) -> tenacity.Retrying:
    """A fresh ``tenacity.Retrying`` for one logical call to dependency ``name``.

    Build one per call (they carry per-call statistics). The last exception is re-raised
    unchanged when attempts or time run out, so callers see ``HttpStatusError`` etc.,
    not ``tenacity.RetryError``.
    """
    out = logger or log

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        out.warning(
            "%s: attempt %d/%d failed (%s); retrying in %.2fs",
            name,
            state.attempt_number,
            config.max_attempts,
            describe(exc),
            wait,
            extra={"dependency": name, "attempt": state.attempt_number, "wait_s": wait},
        )

    def give_up(state: tenacity.RetryCallState) -> Any:
        assert state.outcome is not None
        exc = state.outcome.exception()
        out.error(
            "%s: giving up after %d attempt(s) in %.2fs (%s)",
            name,
            state.attempt_number,
            state.seconds_since_start or 0.0,
            describe(exc),
            extra={"dependency": name, "attempt": state.attempt_number},
        )
        return state.outcome.result()  # re-raises the last exception with its traceback

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(config.max_attempts)
        | tenacity.stop_before_delay(config.max_total_s),
        wait=wait_full_jitter_or_retry_after(config.base_delay_s, config.max_delay_s),
        retry=tenacity.retry_if_exception(retry_if),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
        reraise=True,
    )
