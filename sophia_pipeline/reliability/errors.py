"""The errors the reliability layer raises.

Callers (Dagster assets, sensors) branch on these types, never on httpx's: an asset
lets ``RetriesExhausted``-like failures bubble up to Dagster's ``RetryPolicy`` and treats
``CircuitOpenError`` as "skip this tick, the dependency is known to be down".

No message built here may contain a secret: URLs are redacted before they reach an
error, and response bodies are cut short and scrubbed of known secret values.
"""

from __future__ import annotations

import pybreaker


class ReliabilityError(Exception):
    """Base class of every error raised by ``sophia_pipeline.reliability``."""


class HttpError(ReliabilityError):
    """A request to a dependency failed in a way the caller may need to inspect."""

    def __init__(self, message: str, *, dependency: str, method: str, url: str) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.method = method
        self.url = url


class HttpStatusError(HttpError):
    """The server answered with an error status (4xx/5xx).

    ``retry_after_s`` holds the server's ``Retry-After`` (or vendor equivalent) when it
    sent one, so the retry policy can wait at least that long.
    """

    def __init__(
        self,
        *,
        dependency: str,
        method: str,
        url: str,
        status_code: int,
        retry_after_s: float | None = None,
        body_excerpt: str = "",
    ) -> None:
        detail = f" (Retry-After {retry_after_s:g}s)" if retry_after_s is not None else ""
        excerpt = f": {body_excerpt}" if body_excerpt else ""
        super().__init__(
            f"{dependency}: {method} {url} -> HTTP {status_code}{detail}{excerpt}",
            dependency=dependency,
            method=method,
            url=url,
        )
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        self.body_excerpt = body_excerpt


class RateLimitedError(HttpStatusError):
    """The dependency said "slow down" (429, or a vendor's own rate-limit signal)."""


class TransportError(HttpError):
    """No usable answer at all: connection refused/reset, timeout, cut-off body.

    Raised once retries are spent; the httpx exception is its ``__cause__``.
    """


class InvalidResponseError(HttpError):
    """The body was truncated or not the JSON we expected: worth another try."""


class GraphQLError(HttpError):
    """A GraphQL endpoint answered 200 with ``errors`` and no usable data."""

    def __init__(
        self, message: str, *, dependency: str, method: str, url: str, codes: tuple[str, ...]
    ) -> None:
        super().__init__(message, dependency=dependency, method=method, url=url)
        self.codes = codes


class DependencyFailure(ReliabilityError):
    """A call to a dependency that is not an HTTP API (a database, a vector index, a
    model) failed or ran past its deadline: transient by nature, so it counts toward the
    dependency's circuit breaker. The original error is its ``__cause__``."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency}: {reason}")
        self.dependency = dependency
        self.reason = reason


class UnsafeUrlError(ReliabilityError):
    """A URL handed back by a server (e.g. a ``Link`` header) points at another origin.

    Following it would send our credentials to a host we were never configured for.
    """


class CircuitOpenError(ReliabilityError, pybreaker.CircuitBreakerError):
    """The dependency's circuit breaker is open: the call was refused without a request.

    Subclasses ``pybreaker.CircuitBreakerError`` so code written against pybreaker still
    catches it.
    """

    def __init__(self, dependency: str, detail: str = "circuit open") -> None:
        super().__init__(f"{dependency}: {detail}; request not sent")
        self.dependency = dependency


class RateLimitTimeout(ReliabilityError):
    """The shared rate limiter could not grant a slot within the caller's maximum wait."""

    def __init__(self, name: str, needed_wait_s: float, max_wait_s: float) -> None:
        super().__init__(
            f"rate limiter {name!r}: next slot in {needed_wait_s:.2f}s, "
            f"more than the allowed {max_wait_s:.2f}s"
        )
        self.name = name
        self.needed_wait_s = needed_wait_s
        self.max_wait_s = max_wait_s
