"""The HTTP door: the read API as a FastAPI app, with the MCP server mounted at ``/mcp``.

Endpoints answer with exactly the response models the MCP tools return, so a dashboard
and an agent see the same payload. Status codes: 422 for any invalid request (FastAPI's
own validation errors, and the service's, in the same shape), 404 for an unknown
account or a missing report, 503 with the dependency's name when one is down (a
``Retry-After`` says when its breaker will try again), 401 without the bearer token when
``SOPHIA_API_TOKEN`` is set. Validation errors never echo the rejected input.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, Field, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from .answer import Answer
from .errors import DependencyUnavailable, InvalidRequest, NotFound
from .mcp_server import build_mcp_server
from .models import (
    ID_PATTERN,
    AccountOverview,
    AccountRequest,
    AnswerRequest,
    KpiRequest,
    KpiResponse,
    MentionsRequest,
    MentionsResponse,
    Readiness,
    SourcesResponse,
)
from .search import SearchRequest, SearchResponse
from .service import ReadService

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})


class Problem(BaseModel):
    """The body of a 404 or 503."""

    detail: str
    dependency: str | None = Field(None, description="The dependency that is down (503).")


DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "A dependency is down (see `dependency`)."}
}
MISSING: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Not found."}}
READY_CODES = {"healthy": 200, "degraded": 200, "unhealthy": 503}


class BearerAuth:
    """Every request but ``OPEN_PATHS`` must carry ``Authorization: Bearer <token>``;
    compared in constant time, so the answer's timing says nothing about the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    given = credentials.strip()
                break
        if not hmac.compare_digest(given, self._token):
            response = JSONResponse(
                {"detail": "missing or invalid bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Metrics:
    """Prometheus metrics of one app (its own registry: several apps in one process,
    as in tests, never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sophia_api_requests",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sophia_api_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.dependency_up = Gauge(
            "sophia_dependency_up",
            "1 when the dependency answered the last readiness probe",
            ["dependency"],
            registry=self.registry,
        )


class RecordMetrics:
    """Counts and times every request by its route template (an unmatched path counts as
    ``unmatched``: a scan of random paths must not grow the label set)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(label, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - started)


def _error_detail(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def create_app(
    service: ReadService,
    *,
    token: str | None = None,
    report_path: Path | None = None,
    host: str = "127.0.0.1",
) -> FastAPI:
    """The HTTP app over ``service``. ``host`` is the address the server binds: on
    loopback the MCP transport also refuses foreign ``Host`` headers (DNS rebinding)."""
    mcp = build_mcp_server(service)
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True, host=host
    )
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The model loads in the background: /health answers at once, /ready says
        # "starting" until the embedder is warm.
        threading.Thread(target=service.warm, name="sophia-warm", daemon=True).start()
        async with mcp.session_manager.run():
            yield
        service.close()

    app = FastAPI(
        title="Sophia read API",
        version="1",
        description=(
            "Search, KPIs, competitor mentions, account overviews and source freshness "
            "over the Sophia pipeline's stores. The same calls are MCP tools at `/mcp`. "
            "When SOPHIA_API_TOKEN is set, every path but /health needs "
            "`Authorization: Bearer <token>`."
        ),
        lifespan=lifespan,
    )
    # The streamable HTTP endpoint itself, as a route of this app (a Mount would answer
    # POST /mcp with a redirect to /mcp/).
    app.router.routes.extend(mcp_app.routes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            _error_detail(list(e["loc"]), str(e["msg"]), str(e["type"])) for e in exc.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(ValidationError)
    async def _invalid_model(_: Request, exc: ValidationError) -> JSONResponse:
        errors = [
            _error_detail(["query", *e["loc"]], str(e["msg"]), str(e["type"]))
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(InvalidRequest)
    async def _bad(_: Request, exc: InvalidRequest) -> JSONResponse:
        detail = [_error_detail(["query", exc.field], exc.message, "value_error")]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(DependencyUnavailable)
    async def _down(_: Request, exc: DependencyUnavailable) -> JSONResponse:
        guard = service.guards[exc.dependency] if exc.dependency else None
        retry = int(guard.breaker.reset_timeout) if guard is not None else 15
        return JSONResponse(
            {"detail": str(exc), "dependency": exc.dependency},
            status_code=503,
            headers={"Retry-After": str(retry)},
        )

    @app.post("/v1/search", response_model=SearchResponse, tags=["read"], responses=DOWN)
    def search(req: SearchRequest) -> SearchResponse:
        """Hybrid / semantic / keyword search with citations (MCP: `search`)."""
        return service.search(req)

    @app.post("/v1/answer", response_model=Answer, tags=["read"], responses=DOWN)
    def answer(req: AnswerRequest) -> Answer:
        """A question answered from retrieved passages, cited (MCP: `answer`)."""
        return service.answer(req)

    @app.get("/v1/kpis", response_model=KpiResponse, tags=["read"], responses=DOWN)
    def kpis(q: Annotated[KpiRequest, Query()]) -> KpiResponse:
        """Daily KPI rollups for a date range (same as the MCP tool `get_kpis`)."""
        return service.get_kpis(q)

    @app.get(
        "/v1/competitors/mentions", response_model=MentionsResponse, tags=["read"], responses=DOWN
    )
    def mentions(q: Annotated[MentionsRequest, Query()]) -> MentionsResponse:
        """Competitor mentions, newest first (MCP: `competitor_mentions`)."""
        return service.competitor_mentions(q)

    @app.get(
        "/v1/accounts/{account_id}",
        response_model=AccountOverview,
        tags=["read"],
        responses={**DOWN, **MISSING},
    )
    def account(
        account_id: Annotated[str, PathParam(pattern=ID_PATTERN, max_length=128)],
        query: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
        calls: Annotated[int, Query(ge=1, le=50)] = 10,
        chunks: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> AccountOverview:
        """One account's overview (MCP: `account_overview`)."""
        return service.account_overview(
            AccountRequest(account_id=account_id, query=query, calls=calls, chunks=chunks)
        )

    @app.get("/v1/sources", response_model=SourcesResponse, tags=["read"], responses=DOWN)
    def sources() -> SourcesResponse:
        """What is indexed per source, and how fresh (MCP: `list_sources`)."""
        return service.list_sources()

    @app.get(
        "/reports/executive",
        response_class=FileResponse,
        tags=["reports"],
        responses={200: {"content": {"text/html": {}}}, **MISSING},
    )
    def executive_report() -> FileResponse:
        """The latest executive report (HTML, self-contained), as the report asset wrote it."""
        if report_path is None or not report_path.is_file():
            raise NotFound("no executive report yet: materialize the report asset first")
        return FileResponse(report_path, media_type="text/html")

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        """Liveness: the process answers. Never needs the token."""
        return {"status": "ok"}

    @app.get(
        "/ready",
        response_model=Readiness,
        tags=["ops"],
        responses={503: {"model": Readiness, "description": "Unhealthy"}},
    )
    def ready() -> JSONResponse:
        """healthy / degraded / unhealthy, with each dependency's state."""
        readiness = service.readiness()
        for dep in readiness.dependencies:
            metrics.dependency_up.labels(dep.name).set(1 if dep.state == "up" else 0)
        return JSONResponse(
            readiness.model_dump(mode="json"), status_code=READY_CODES[readiness.status]
        )

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
    def prometheus() -> Response:
        """Prometheus metrics: requests and latency per route, dependency states."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(RecordMetrics, metrics=metrics)
    if token:
        # Added last, so it runs first: an unauthenticated request is not even counted
        # under a route.
        app.add_middleware(BearerAuth, token=token)
    return app
