"""The webhook receiver: a Starlette ASGI app that verifies, de-duplicates and lands.

Order of checks for ``POST /webhooks/<source>`` (cheapest and safest first):

1. body size: ``Content-Length`` over the cap -> 413 before reading a byte; a stream
   that grows past the cap -> 413 the moment it does (never buffered whole);
2. signature (and, for Slack, timestamp freshness) over the raw bytes -> 401;
3. JSON (UTF-8, strict: no NaN/Infinity, must be an object) -> 400;
4. control messages (Slack ``url_verification``, GitHub ``ping``) are answered, not landed;
5. land (durable before the response): 200 new or duplicate, 202 landed with an
   unknown event type, 503 when the disk refused (the sender retries later).

Nothing rejected is landed and nothing acknowledged is unlanded. Any unexpected
exception becomes a 503 (never a 500) so that senders retry instead of dropping.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

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
from sophia_pipeline.webhooks.signatures import (
    SLACK_TIMESTAMP_TOLERANCE_S,
    Verdict,
    verify_github,
    verify_slack,
)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
SLACK_SECRET_ENV = "SLACK_SIGNING_SECRET"
GITHUB_SECRET_ENV = "GITHUB_WEBHOOK_SECRET"

access_log = logging.getLogger("sophia_pipeline.webhooks.access")
log = logging.getLogger(__name__)

# Event types the downstream sensors understand. Anything else is still landed (as
# "unknown", answered 202) so that nothing a sender delivered is lost.
SLACK_KNOWN_EVENTS = frozenset(
    {
        "message",
        "app_mention",
        "reaction_added",
        "reaction_removed",
        "channel_created",
        "channel_rename",
        "channel_archive",
        "channel_unarchive",
        "member_joined_channel",
        "member_left_channel",
        "file_shared",
        "pin_added",
        "pin_removed",
        "team_join",
        "user_change",
        "link_shared",
        "app_home_opened",
    }
)
GITHUB_KNOWN_EVENTS = frozenset(
    {
        "push",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "issues",
        "issue_comment",
        "commit_comment",
        "create",
        "delete",
        "release",
        "discussion",
        "discussion_comment",
        "label",
        "milestone",
        "repository",
        "workflow_run",
        "check_run",
        "check_suite",
        "deployment",
        "deployment_status",
        "status",
    }
)
UNKNOWN_EVENT = "unknown"

SLACK_LANDED_HEADERS = (
    "x-slack-request-timestamp",
    "x-slack-retry-num",
    "x-slack-retry-reason",
    "content-type",
    "user-agent",
)
GITHUB_LANDED_HEADERS = (
    "x-github-event",
    "x-github-delivery",
    "x-github-hook-id",
    "x-github-hook-installation-target-id",
    "x-github-hook-installation-target-type",
    "content-type",
    "user-agent",
)

_ID_RE = re.compile(r"^[\x21-\x7e]{1,256}$")
_NAME_RE = re.compile(r"^[a-z0-9_]{1,64}$")
_MAX_HEADER_CHARS = 256
_LOG_KEY = "sophia.webhook_log"


def _log_fields(request: Request) -> dict[str, Any]:
    fields = request.scope.get(_LOG_KEY)
    if not isinstance(fields, dict):
        fields = {}
        request.scope[_LOG_KEY] = fields
    return fields


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(body: bytes) -> Any:
    """Strict JSON from UTF-8 bytes; raises ValueError for anything else."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_strict_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


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

    async def slack_endpoint(request: Request) -> Response:
        fields = _log_fields(request)
        fields["source"] = "slack"
        if not slack_enabled:
            return JSONResponse({"ok": False, "error": "slack endpoint disabled"}, 404)
        retry = request.headers.get("x-slack-retry-num")
        if retry is not None:
            fields["retry_num"] = retry[:8]
        body = await receive_body("slack", request, fields)
        if isinstance(body, Response):
            return body
        verdict = verify_slack(
            slack_secret,
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
            body,
            now=clock(),
            tolerance_s=slack_tolerance_s,
        )
        if verdict is not Verdict.OK:
            return reject("slack", fields, 401, verdict.value)
        try:
            payload = parse_json_body(body)
        except ValueError:
            return reject("slack", fields, 400, "malformed_json")
        if not isinstance(payload, dict):
            return reject("slack", fields, 400, "not_a_json_object")
        envelope = payload.get("type")
        if envelope == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                return reject("slack", fields, 400, "bad_challenge")
            fields["outcome"] = "url_verification"
            return JSONResponse({"challenge": challenge})
        raw_id = payload.get("event_id")
        if raw_id is None:
            event_id = _body_id(body)
        elif isinstance(raw_id, str) and _ID_RE.match(raw_id):
            event_id = raw_id
        else:
            return reject("slack", fields, 400, "bad_event_id")
        event_type, known = UNKNOWN_EVENT, False
        if envelope == "event_callback":
            inner = payload.get("event")
            inner_type = inner.get("type") if isinstance(inner, dict) else None
            if isinstance(inner_type, str) and inner_type in SLACK_KNOWN_EVENTS:
                event_type, known = inner_type, True
        elif envelope == "app_rate_limited":
            # Slack telling us it is dropping events: worth keeping for operators.
            event_type, known = "app_rate_limited", True
        headers = _selected_headers(request, SLACK_LANDED_HEADERS)
        return await land("slack", fields, event_id, event_type, known, payload, headers)

    async def github_endpoint(request: Request) -> Response:
        fields = _log_fields(request)
        fields["source"] = "github"
        if not github_enabled:
            return JSONResponse({"ok": False, "error": "github endpoint disabled"}, 404)
        delivery = request.headers.get("x-github-delivery")
        body = await receive_body("github", request, fields)
        if isinstance(body, Response):
            return body
        verdict = verify_github(github_secret, request.headers.get("x-hub-signature-256"), body)
        if verdict is not Verdict.OK:
            return reject("github", fields, 401, verdict.value)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if content_type == "application/x-www-form-urlencoded":
                # GitHub's alternative delivery format: the JSON sits in a "payload" field.
                form = parse_qs(body.decode("utf-8"), max_num_fields=16, strict_parsing=True)
                payload = parse_json_body(form["payload"][0].encode("utf-8"))
            else:
                payload = parse_json_body(body)
        except (ValueError, KeyError, IndexError, UnicodeError):
            return reject("github", fields, 400, "malformed_json")
        if not isinstance(payload, dict):
            return reject("github", fields, 400, "not_a_json_object")
        event = request.headers.get("x-github-event")
        if event == "ping":
            fields["outcome"] = "ping"
            zen = payload.get("zen")
            return JSONResponse({"ok": True, "zen": zen if isinstance(zen, str) else None})
        if delivery is None:
            event_id = _body_id(body)
        elif _ID_RE.match(delivery):
            event_id = delivery
        else:
            return reject("github", fields, 400, "bad_delivery_id")
        event_type, known = UNKNOWN_EVENT, False
        if event is not None and event in GITHUB_KNOWN_EVENTS:
            action = payload.get("action")
            known = True
            event_type = (
                f"{event}.{action}" if isinstance(action, str) and _NAME_RE.match(action) else event
            )
        headers = _selected_headers(request, GITHUB_LANDED_HEADERS)
        return await land("github", fields, event_id, event_type, known, payload, headers)

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
            Route("/webhooks/slack", slack_endpoint, methods=["POST"]),
            Route("/webhooks/github", github_endpoint, methods=["POST"]),
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
