"""Reliability building blocks for calls to external APIs: retry, breaker, rate limit.

Pure library code (no Dagster): Dagster resources construct these from their config.
The usual entry point is :class:`ResilientHttpClient.build`, which wires a Redis-shared
circuit breaker and rate limiter around a tenacity retry policy for one dependency.
"""

from .breaker import breaker_for, counts_as_failure, resolve_redis
from .errors import (
    CircuitOpenError,
    DependencyFailure,
    GraphQLError,
    HttpError,
    HttpStatusError,
    InvalidResponseError,
    RateLimitedError,
    RateLimitTimeout,
    ReliabilityError,
    TransportError,
    UnsafeUrlError,
)
from .http import (
    ApiResponse,
    HttpClientConfig,
    RateLimitSignal,
    Redactor,
    ResilientHttpClient,
    TimeoutConfig,
)
from .ratelimit import (
    MemoryRateLimiter,
    RateLimit,
    RateLimiter,
    RedisRateLimiter,
    gcra_reserve,
    rate_limiter_for,
)
from .retry import RetryConfig, is_retryable, parse_retry_after, retrying

__all__ = [
    "ApiResponse",
    "CircuitOpenError",
    "DependencyFailure",
    "GraphQLError",
    "HttpClientConfig",
    "HttpError",
    "HttpStatusError",
    "InvalidResponseError",
    "MemoryRateLimiter",
    "RateLimit",
    "RateLimitSignal",
    "RateLimitTimeout",
    "RateLimitedError",
    "RateLimiter",
    "Redactor",
    "RedisRateLimiter",
    "ReliabilityError",
    "ResilientHttpClient",
    "RetryConfig",
    "TimeoutConfig",
    "TransportError",
    "UnsafeUrlError",
    "breaker_for",
    "counts_as_failure",
    "gcra_reserve",
    "is_retryable",
    "parse_retry_after",
    "rate_limiter_for",
    "resolve_redis",
    "retrying",
]
