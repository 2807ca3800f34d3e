"""The one resilient JSON-over-HTTP client every API client is built on.

One logical request goes through, outermost first:

    circuit breaker  ->  tenacity retry  ->  [ rate limiter -> HTTP attempt ]

The breaker is checked first, so a dependency known to be down costs neither a request
nor a rate-limit slot. The limiter sits *inside* the retry loop because every retry is
a request the vendor counts: a limiter outside it would let retries exceed the limit.
A 429 (or a vendor header saying the quota is spent) also pushes the shared limiter
back, so every worker pauses, not only the one that was told.

Secrets travel only in headers set on the underlying ``httpx.Client``; they are never
formatted into a log line or an error. URLs are logged with credential-like query
parameters masked, and any text that could echo a secret (error bodies, URLs) is
scrubbed of the known secret values first. Redirects are not followed: a redirect to
another host would carry vendor headers such as ``X-Api-Key`` along.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pybreaker
from pydantic import BaseModel, ConfigDict, Field

from .breaker import RedisLike, breaker_for
from .errors import (
    CircuitOpenError,
    HttpStatusError,
    InvalidResponseError,
    RateLimitedError,
    TransportError,
    UnsafeUrlError,
)
from .ratelimit import RateLimit, RateLimiter, rate_limiter_for
from .retry import (
    RetryConfig,
    describe_exception,
    parse_http_date,
    parse_retry_after,
    retrying,
)

log = logging.getLogger(__name__)

SENSITIVE_QUERY_KEYS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "client_secret",
        "code",
        "key",
        "password",
        "secret",
        "sig",
        "signature",
        "token",
    }
)
_MASK = "***"


class TimeoutConfig(BaseModel):
    """httpx timeouts, per phase. ``read_s`` bounds each socket read, not the whole body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect_s: float = Field(default=5.0, gt=0)
    read_s: float = Field(default=30.0, gt=0)
    write_s: float = Field(default=30.0, gt=0)
    pool_s: float = Field(default=5.0, gt=0)

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_s, read=self.read_s, write=self.write_s, pool=self.pool_s
        )


class HttpClientConfig(BaseModel):
    """Everything about resilience an API client needs, with production defaults.

    ``rate_limit=None`` means "the API's documented default" (each client knows its own).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    retry: RetryConfig = RetryConfig()
    timeouts: TimeoutConfig = TimeoutConfig()
    rate_limit: RateLimit | None = None
    rate_limit_max_wait_s: float = Field(default=120.0, ge=0)
    breaker_enabled: bool = True
    breaker_fail_max: int = Field(default=5, ge=1)
    breaker_reset_timeout_s: float = Field(default=60.0, gt=0)
    user_agent: str = "sophia-pipeline/0.1"


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: decoded JSON (``None`` for 204/304/empty) and headers."""

    status_code: int
    headers: httpx.Headers
    data: Any
    url: str  # already redacted; safe to log


@dataclass(frozen=True)
class RateLimitSignal:
    """A response that means "slow down", with the minimum wait if the server gave one."""

    retry_after_s: float | None


RateLimitDetector = Callable[[httpx.Response], RateLimitSignal | None]
PauseHint = Callable[[httpx.Response], float | None]


def default_rate_limit_detector(response: httpx.Response) -> RateLimitSignal | None:
    """429 is a rate limit; its ``Retry-After`` (seconds or HTTP-date) is the floor."""
    if response.status_code != 429:
        return None
    return RateLimitSignal(retry_after_from(response))


def retry_after_from(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, an HTTP-date measured against the response's ``Date``."""
    return parse_retry_after(
        response.headers.get("retry-after"), now=parse_http_date(response.headers.get("date"))
    )


class Redactor:
    """Scrubs known secret values, and credential-like query parameters, from text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values: set[str] = set()
        for raw in secrets:
            if not raw:
                continue
            values.add(raw)
            # "Bearer abc" / "Basic abc": the bare credential may be echoed on its own.
            for part in raw.split():
                if len(part) >= 6:
                    values.add(part)
                    values.update(_basic_parts(part))
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted((v for v in values if len(v) >= 4), key=len, reverse=True)

    def text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text

    def url(self, url: str | httpx.URL) -> str:
        parts = urlsplit(str(url))
        if parts.query:
            pairs = [
                (k, _MASK if k.lower() in SENSITIVE_QUERY_KEYS else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ]
            parts = parts._replace(query=urlencode(pairs, safe="*:,"))
        if parts.username or parts.password:
            parts = parts._replace(netloc=parts.hostname or "")
        return self.text(urlunsplit(parts))


class _MaskHttpxQuerySecrets(logging.Filter):
    """httpx logs every request URL at INFO, query string included: mask credentials.

    Our own clients send secrets in headers only, but a caller passing ``api_key=`` in
    ``params`` must not leak it through httpx's log line either; nor may a URL whose path
    is the secret (a Slack incoming webhook's), registered with ``hide_in_http_logs``.
    """

    _redactor = Redactor([])

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            redactor = self._redactor
            record.args = tuple(
                redactor.url(arg)
                if isinstance(arg, httpx.URL) or (isinstance(arg, str) and "?" in arg)
                else redactor.text(arg)
                if isinstance(arg, str)
                else arg
                for arg in record.args
            )
        return True


_LOG_SECRETS: set[str] = set()


def hide_in_http_logs(url: str) -> None:
    """Masks ``url``'s path (and the URL whole) wherever httpx logs it: for URLs that are
    themselves the credential, like a webhook's. The host stays visible, to debug with."""
    parsed = httpx.URL(url)
    # The path as given and as httpx sends (and logs) it, percent-encoding normalized.
    found = {url, urlsplit(url).path, parsed.path, parsed.raw_path.decode("ascii")}
    found = {value for value in found if value not in ("", "/")}
    if not found <= _LOG_SECRETS:
        _LOG_SECRETS.update(found)
        # Rebuilt, not mutated: a filter running in another thread sees one or the other.
        _MaskHttpxQuerySecrets._redactor = Redactor(_LOG_SECRETS)


def _install_httpx_filter() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _MaskHttpxQuerySecrets) for f in httpx_logger.filters):
        httpx_logger.addFilter(_MaskHttpxQuerySecrets())


_install_httpx_filter()


def _basic_parts(value: str) -> list[str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return []
    return [decoded, *decoded.split(":", 1)] if ":" in decoded else []


_DEFAULT: Any = object()


class ResilientHttpClient:
    """JSON HTTP client with breaker, retry and shared rate limit around every request.

    ``secret_headers`` (e.g. ``{"Authorization": "Bearer ..."}``) are sent on every
    request and redacted everywhere; ``extra_secrets`` lists further values to scrub
    (e.g. the raw key and secret behind a Basic header). Relative URLs resolve against
    ``base_url``; absolute ones must share its origin.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        secret_headers: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        extra_secrets: Iterable[str] = (),
        config: HttpClientConfig | None = None,
        breaker: pybreaker.CircuitBreaker | None = None,
        limiter: RateLimiter | None = None,
        rate_limit_detector: RateLimitDetector = default_rate_limit_detector,
        pause_hint: PauseHint | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.config = config or HttpClientConfig()
        self.breaker = breaker
        self.limiter = limiter
        self._detect_rate_limit = rate_limit_detector
        self._pause_hint = pause_hint
        secret_headers = dict(secret_headers or {})
        self._redactor = Redactor([*secret_headers.values(), *extra_secrets])
        self._base = httpx.URL(base_url)
        all_headers = {
            "Accept": "application/json",
            "User-Agent": self.config.user_agent,
            **(headers or {}),
            **secret_headers,
        }
        self._client = httpx.Client(
            base_url=base_url,
            headers=all_headers,
            timeout=self.config.timeouts.to_httpx(),
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def build(
        cls,
        name: str,
        base_url: str,
        *,
        redis: RedisLike | None,
        config: HttpClientConfig | None = None,
        default_rate_limit: RateLimit | None = None,
        **kwargs: Any,
    ) -> Self:
        """A client with its breaker and rate limiter looked up by ``name`` in ``redis``."""
        config = config or HttpClientConfig()
        limit = config.rate_limit or default_rate_limit
        limiter = (
            rate_limiter_for(name, limit, redis, default_max_wait_s=config.rate_limit_max_wait_s)
            if limit is not None
            else None
        )
        breaker = (
            breaker_for(
                name,
                redis,
                fail_max=config.breaker_fail_max,
                reset_timeout_s=config.breaker_reset_timeout_s,
                trial_ttl_s=max(config.breaker_reset_timeout_s, config.retry.max_total_s),
            )
            if config.breaker_enabled
            else None
        )
        return cls(name, base_url, config=config, breaker=breaker, limiter=limiter, **kwargs)

    # -- public API -----------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with this client's secrets masked (for callers' own log lines)."""
        return self._redactor.text(text)

    def get(self, url: str, *, params: Mapping[str, Any] | None = None, **kw: Any) -> ApiResponse:
        return self.request("GET", url, params=params, **kw)

    def post(self, url: str, *, json: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", url, json=json, **kw)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        limiter: RateLimiter | None = _DEFAULT,
        ok_statuses: Iterable[int] = (),
        expect: type | tuple[type, ...] | None = dict,
    ) -> ApiResponse:
        """Send one logical request; return its JSON or raise a ``ReliabilityError``.

        ``limiter`` overrides the client's limiter for endpoints with their own budget
        (``None`` disables limiting). ``ok_statuses`` lists non-2xx statuses to return
        instead of raise (e.g. 304 for conditional GETs, 404 where it means "empty").
        ``expect``: the JSON type a 2xx body must have (``None``: any). Valid JSON of
        another type (say a proxy's ``null``) counts as an invalid body and is retried.
        """
        target = self._check_origin(url)
        use_limiter = self.limiter if limiter is _DEFAULT else limiter
        accept = frozenset(ok_statuses)

        def attempt() -> ApiResponse:
            if use_limiter is not None:
                use_limiter.acquire(self.config.rate_limit_max_wait_s)
            return self._send_once(
                method, target, params, json, headers, use_limiter, accept, expect
            )

        def with_retries() -> ApiResponse:
            try:
                return retrying(self.config.retry, name=self.name, describe=self._describe)(attempt)
            except httpx.TransportError as exc:
                # Callers handle one error family; the httpx detail stays as the cause.
                raise TransportError(
                    f"{self.name}: {method} {self._safe(url)} failed: {self._describe(exc)}",
                    dependency=self.name,
                    method=method,
                    url=self._safe(url),
                ) from exc

        if self.breaker is None:
            return with_retries()
        try:
            return self.breaker.call(with_retries)
        except CircuitOpenError:
            log.warning(
                "%s: %s %s refused: half-open trial running elsewhere",
                self.name,
                method,
                self._safe(url),
            )
            raise
        except pybreaker.CircuitBreakerError:
            log.warning("%s: %s %s refused: circuit open", self.name, method, self._safe(url))
            raise CircuitOpenError(self.name) from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------

    def _safe(self, url: str | httpx.URL) -> str:
        return self._redactor.url(url)

    def _describe(self, exc: BaseException | None) -> str:
        return self._redactor.text(describe_exception(exc))

    def _check_origin(self, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            return url
        target = httpx.URL(url)
        if (target.scheme, target.host, target.port) != (
            self._base.scheme,
            self._base.host,
            self._base.port,
        ):
            raise UnsafeUrlError(
                f"{self.name}: refusing to send credentials to {target.scheme}://{target.host}"
            )
        return url

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        limiter: RateLimiter | None,
        ok_statuses: frozenset[int],
        expect: type | tuple[type, ...] | None,
    ) -> ApiResponse:
        request = self._client.build_request(method, url, params=params, json=json, headers=headers)
        safe_url = self._safe(request.url)
        started = time.monotonic()
        response = self._client.send(request)
        elapsed = time.monotonic() - started
        log.debug(
            "%s: %s %s -> %d in %.3fs", self.name, method, safe_url, response.status_code, elapsed
        )

        if limiter is not None and self._pause_hint is not None:
            pause = self._pause_hint(response)
            if pause is not None and pause > 0:
                log.info(
                    "%s: vendor quota nearly spent; pausing all workers %.2fs", self.name, pause
                )
                limiter.penalize(pause)

        signal = self._detect_rate_limit(response)
        if signal is not None:
            if limiter is not None and signal.retry_after_s:
                limiter.penalize(signal.retry_after_s)
            raise RateLimitedError(
                dependency=self.name,
                method=method,
                url=safe_url,
                status_code=response.status_code,
                retry_after_s=signal.retry_after_s,
                body_excerpt=self._excerpt(response),
            )

        status = response.status_code
        if status >= 400 and status not in ok_statuses:
            retry_after = retry_after_from(response) if status >= 500 else None
            if limiter is not None and retry_after:
                # An overloaded server asking for a pause: pause every worker, not just us.
                limiter.penalize(retry_after)
            raise HttpStatusError(
                dependency=self.name,
                method=method,
                url=safe_url,
                status_code=status,
                retry_after_s=retry_after,
                body_excerpt=self._excerpt(response),
            )
        if not (200 <= status < 300) and status not in ok_statuses:
            # 1xx/3xx we did not ask for (we never follow redirects): not a success.
            raise HttpStatusError(
                dependency=self.name, method=method, url=safe_url, status_code=status
            )

        if status in (204, 304) or not response.content:
            data = None
        elif status >= 300:
            # An accepted error status (e.g. Gong's "no calls" 404): its body is a hint
            # at best, and an unparseable one must not be retried as if truncated.
            try:
                data = response.json()
            except ValueError:
                data = None
        else:
            try:
                data = response.json()
            except ValueError as exc:
                raise InvalidResponseError(
                    f"{self.name}: {method} {safe_url} -> HTTP {status} with an invalid JSON "
                    f"body ({len(response.content)} bytes): {exc}",
                    dependency=self.name,
                    method=method,
                    url=safe_url,
                ) from exc
            if expect is not None and not isinstance(data, expect):
                raise InvalidResponseError(
                    f"{self.name}: {method} {safe_url} -> HTTP {status} with a JSON "
                    f"{type(data).__name__}, not the expected {expect}",
                    dependency=self.name,
                    method=method,
                    url=safe_url,
                )
        return ApiResponse(status_code=status, headers=response.headers, data=data, url=safe_url)

    def _excerpt(self, response: httpx.Response, limit: int = 200) -> str:
        try:
            text = response.text
        except (UnicodeDecodeError, LookupError):
            return ""
        return self._redactor.text(" ".join(text.split())[:limit])
