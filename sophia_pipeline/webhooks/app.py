"""The webhook receiver: a Starlette ASGI app that verifies, de-duplicates and lands.

Order of checks for ``POST /webhooks/<source>`` (cheapest and safest first):

1. body size: ``Content-Length`` over the cap -> 413 before reading a byte; a stream
   that grows past the cap -> 413 the moment it does (never buffered whole);
2. signature (and, for Slack, timestamp freshness) over the raw bytes -> 401;
3. JSON (UTF-8, strict: no NaN/Infinity, must be an object) -> 400;
4. control messages (Slack ``url_verification``, GitHub ``ping``) are answered, not landed;
5. land (durable before the response): 200 new or duplicate, 202 landed with an
   unknown event type, 503 when the disk refused (the sender retries later).

The steps are the same for every sender; what differs (signature scheme, event id,
control messages, event types, retry headers) is the sender's strategy in ``senders.py``.

Nothing rejected is landed and nothing acknowledged is unlanded. Any unexpected
exception becomes a 503 (never a 500) so that senders retry instead of dropping.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sophia_pipeline.webhooks.landing import (
    LandingError,
    LandingStore,
    UnstorablePayloadError,
)
from sophia_pipeline.webhooks.metrics import WebhookMetrics
from sophia_pipeline.webhooks.senders import GitHubSender, Rejection, Sender, SlackSender
from sophia_pipeline.webhooks.signatures import SLACK_TIMESTAMP_TOLERANCE_S, Verdict

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
SLACK_SECRET_ENV = "SLACK_SIGNING_SECRET"
GITHUB_SECRET_ENV = "GITHUB_WEBHOOK_SECRET"

access_log = logging.getLogger("sophia_pipeline.webhooks.access")
log = logging.getLogger(__name__)

_ID_RE = re.compile(r"^[\x21-\x7e]{1,256}$")
_MAX_HEADER_CHARS = 256
_LOG_KEY = "sophia.webhook_log"


def _log_fields(request: Request) -> dict[str, Any]:
    fields = request.scope.get(_LOG_KEY)
    if not isinstance(fields, dict):
        fields = {}
        request.scope[_LOG_KEY] = fields
    return fields


def _selected_headers(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        value = request.headers.get(name)
        if value is not None:
            out[name] = value[:_MAX_HEADER_CHARS]
    return out


def _body_id(body: bytes) -> str:
    # For signed events without a sender id: identical re-sends still de-duplicate.
    return "sha256:" + hashlib.sha256(body).hexdigest()


class _BodyTooLarge(Exception):
    pass


class _BadRequest(Exception):
    """Carries a short reason code (used as a metric label and in the response)."""


async def _read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        declared = declared.strip()
        if not declared.isascii() or not declared.isdigit():
            raise _BadRequest("invalid_content_length")
        # Length check before int(): a 10,000-digit header must not cost a bignum parse.
        if len(declared) > 18 or int(declared) > max_bytes:
            raise _BodyTooLarge
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
    except ClientDisconnect:
        raise _BadRequest("client_disconnected") from None
    return b"".join(chunks)


class _AccessLogMiddleware:
    """One JSON log line and one metrics sample per request; last-resort 503."""

    def __init__(self, app: ASGIApp, metrics: WebhookMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        fields: dict[str, Any] = {}
        scope[_LOG_KEY] = fields
        endpoint = self.metrics.endpoint_label(scope.get("path", ""))
        status = 0
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error in webhook receiver")
            if not response_started:
                status = 503
                fields["error"] = "internal"
                await JSONResponse(
                    {"ok": False, "error": "internal error; retry later"},
                    status_code=503,
                    headers={"Retry-After": "5"},
                )(scope, receive, send)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.request_seconds.labels(endpoint).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                line = {
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 3),
                    **fields,
                }
                access_log.info("request", extra={"fields": line})


def create_app(
    store: LandingStore,
    slack_secret: str | None,
    github_secret: str | None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    slack_enabled: bool = True,
    github_enabled: bool = True,
    *,
    clock: Callable[[], float] = time.time,
    slack_tolerance_s: float = SLACK_TIMESTAMP_TOLERANCE_S,
    metrics: WebhookMetrics | None = None,
) -> Starlette:
    """Build the receiver. The store is opened on startup (or lazily on first event)."""
    if slack_enabled and not slack_secret:
        raise ValueError(
            f"Slack webhooks are enabled but no signing secret was given ({SLACK_SECRET_ENV})"
        )
    if github_enabled and not github_secret:
        raise ValueError(
            f"GitHub webhooks are enabled but no secret was given ({GITHUB_SECRET_ENV})"
        )
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    m = metrics if metrics is not None else WebhookMetrics()
    if store.on_batch is None:
        store.on_batch = m.commit_batch.observe

    def reject(source: str, fields: dict[str, Any], status: int, reason: str) -> Response:
        m.rejected.labels(source, reason).inc()
        fields["outcome"] = f"rejected:{reason}"
        headers = {"Connection": "close"} if status == 413 else None
        return JSONResponse({"ok": False, "error": reason}, status_code=status, headers=headers)

    async def receive_body(
        source: str, request: Request, fields: dict[str, Any]
    ) -> bytes | Response:
        try:
            return await _read_body(request, max_body_bytes)
        except _BodyTooLarge:
            return reject(source, fields, 413, "body_too_large")
        except _BadRequest as exc:
            return reject(source, fields, 400, str(exc))

    async def land(
        source: str,
        fields: dict[str, Any],
        event_id: str,
        event_type: str,
        known: bool,
        payload: dict[str, Any],
        headers: Mapping[str, str],
    ) -> Response:
        fields.update(event_id=event_id, event_type=event_type)
        started = time.perf_counter()
        try:
            landed = await store.append_async(source, event_id, event_type, payload, headers)
        except UnstorablePayloadError:
            return reject(source, fields, 400, "unstorable_payload")
        except LandingError:
            log.exception("could not land %s event %s", source, event_id)
            fields["outcome"] = "landing_failed"
            return JSONResponse(
                {"ok": False, "error": "could not store the event; retry later"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        m.landing_seconds.labels(source).observe(time.perf_counter() - started)
        if not landed:
            m.dedup_hits.labels(source).inc()
            fields["outcome"] = "duplicate"
            return JSONResponse({"ok": True, "id": event_id, "duplicate": True})
        m.landed.labels(source, "known" if known else "unknown").inc()
        fields["outcome"] = "landed"
        return JSONResponse(
            {"ok": True, "id": event_id, "duplicate": False, "event_type": event_type},
            status_code=200 if known else 202,
        )

    def endpoint(sender: Sender | None, name: str) -> Callable[[Request], Awaitable[Response]]:
        """``POST /webhooks/<name>``: the module docstring's steps, with ``sender``'s rules
        (None: the endpoint is disabled)."""

        async def receive(request: Request) -> Response:
            fields = _log_fields(request)
            fields["source"] = name
            if sender is None:
                return JSONResponse({"ok": False, "error": f"{name} endpoint disabled"}, 404)
            headers = request.headers
            sender.note(headers, fields)
            body = await receive_body(name, request, fields)
            if isinstance(body, Response):
                return body
            verdict = sender.verify(headers, body)
            if verdict is not Verdict.OK:
                return reject(name, fields, 401, verdict.value)
            try:
                payload = sender.parse(headers, body)
            except ValueError:
                return reject(name, fields, 400, "malformed_json")
            if not isinstance(payload, dict):
                return reject(name, fields, 400, "not_a_json_object")
            try:
                reply = sender.control(headers, payload)
            except Rejection as exc:
                return reject(name, fields, 400, str(exc))
            if reply is not None:
                fields["outcome"] = reply.outcome
                return JSONResponse(reply.body)
            raw_id = sender.raw_event_id(headers, payload)
            if raw_id is None:
                event_id = _body_id(body)
            elif isinstance(raw_id, str) and _ID_RE.match(raw_id):
                event_id = raw_id
            else:
                return reject(name, fields, 400, sender.bad_id_reason)
            event_type, known = sender.classify(headers, payload)
            landed_headers = _selected_headers(request, sender.landed_headers)
            return await land(name, fields, event_id, event_type, known, payload, landed_headers)

        return receive

    # Enabled implies a secret (checked above); the "and" also tells the type checker.
    slack = (
        SlackSender(slack_secret, clock, slack_tolerance_s)
        if slack_enabled and slack_secret
        else None
    )
    github = GitHubSender(github_secret) if github_enabled and github_secret else None

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def ready(request: Request) -> Response:
        writable = await asyncio.to_thread(store.is_writable)
        return JSONResponse(
            {"ok": writable, "landing_writable": writable}, 200 if writable else 503
        )

    async def metrics_endpoint(request: Request) -> Response:
        return Response(m.render(), media_type=m.content_type)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        opened_here = not store.is_open
        if opened_here:
            # Takes the writer lock and rebuilds the dedup index before serving.
            await asyncio.to_thread(store.open)
        try:
            yield
        finally:
            if opened_here:
                await asyncio.to_thread(store.close)

    app = Starlette(
        routes=[
            Route("/webhooks/slack", endpoint(slack, "slack"), methods=["POST"]),
            Route("/webhooks/github", endpoint(github, "github"), methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        middleware=[Middleware(_AccessLogMiddleware, metrics=m)],
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.metrics = m
    return app
