"""A local, deliberately misbehaving HTTP server for reliability tests.

Wraps pytest-httpserver (threaded, so a slow response does not stall the retry that
follows it) with one catch-all handler that:

- records every request with its arrival time (``time.monotonic()``) in ``hits``;
- serves queued faults first (429 + Retry-After, 5xx, slow, truncated, bad JSON);
- otherwise calls the route's handler, which plays the fake vendor API.

Fixtures ``http_server`` (one per session) and ``fault_server`` (fresh state per test)
are imported by the ``conftest.py`` of each test package that needs them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass(frozen=True)
class Hit:
    t: float
    method: str
    path: str
    args: dict[str, str]
    json: Any
    headers: dict[str, str]
    fault: str | None


class Fault:
    """Something to answer instead of the real handler, once."""

    def respond(self, request: Request) -> Response:
        raise NotImplementedError

    @property
    def label(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class RateLimited(Fault):
    retry_after: str = "1"
    status: int = 429

    def respond(self, request: Request) -> Response:
        return Response(
            json.dumps({"error": "rate limited"}),
            status=self.status,
            headers={"Retry-After": self.retry_after},
            content_type="application/json",
        )


@dataclass(frozen=True)
class Status(Fault):
    code: int = 500
    body: str = '{"error": "internal"}'
    headers: tuple[tuple[str, str], ...] = ()

    def respond(self, request: Request) -> Response:
        return Response(
            self.body, status=self.code, headers=dict(self.headers), content_type="application/json"
        )


@dataclass(frozen=True)
class Slow(Fault):
    """Answers only after ``seconds``: longer than the client's read timeout."""

    seconds: float = 0.6

    def respond(self, request: Request) -> Response:
        time.sleep(self.seconds)
        return Response("{}", content_type="application/json")


@dataclass(frozen=True)
class Truncated(Fault):
    """Promises more bytes than it sends, then closes: the client sees a cut-off body."""

    def respond(self, request: Request) -> Response:
        body = b'{"records": [{"id": "trunc'
        response = Response(body, status=200, content_type="application/json")
        response.headers["Content-Length"] = str(len(body) + 500)
        return response


@dataclass(frozen=True)
class BadJson(Fault):
    """A complete response whose body is not valid JSON (e.g. a proxy's half page)."""

    def respond(self, request: Request) -> Response:
        return Response(b'{"records": [{"id": "x", "na', content_type="application/json")


Handler = Callable[[Request], Any]


class FaultServer:
    def __init__(self, server: HTTPServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], Handler] = {}
        self._faults: dict[tuple[str, str], deque[Fault]] = {}
        self.hits: list[Hit] = []
        server.clear()
        server.expect_request(re.compile(r"^/.*$")).respond_with_handler(self._dispatch)

    @property
    def url(self) -> str:
        return self._server.url_for("").rstrip("/")

    def route(self, method: str, path: str, handler: Handler) -> None:
        with self._lock:
            self._routes[(method.upper(), path)] = handler

    def inject(self, method: str, path: str, *faults: Fault) -> None:
        with self._lock:
            self._faults.setdefault((method.upper(), path), deque()).extend(faults)

    def hits_for(self, method: str | None = None, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [
                h
                for h in self.hits
                if (method is None or h.method == method.upper())
                and (path is None or h.path == path)
            ]

    def _dispatch(self, request: Request) -> Response:
        arrived = time.monotonic()
        key = (request.method.upper(), request.path)
        with self._lock:
            queue = self._faults.get(key)
            fault = queue.popleft() if queue else None
            handler = self._routes.get(key)
            self.hits.append(
                Hit(
                    t=arrived,
                    method=key[0],
                    path=request.path,
                    args={k: request.args[k] for k in request.args},
                    json=request.get_json(silent=True),
                    headers={k.lower(): v for k, v in request.headers.items()},
                    fault=fault.label if fault else None,
                )
            )
        if fault is not None:
            return fault.respond(request)
        if handler is None:
            return Response('{"error": "no route"}', status=404, content_type="application/json")
        return _to_response(handler(request))


def _to_response(value: Any) -> Response:
    if isinstance(value, Response):
        return value
    status, headers = 200, {}
    if isinstance(value, tuple):
        status, value, headers = value if len(value) == 3 else (*value, {})
    return Response(
        json.dumps(value), status=status, headers=headers, content_type="application/json"
    )


@pytest.fixture(scope="session")
def http_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def fault_server(http_server: HTTPServer) -> Iterator[FaultServer]:
    fs = FaultServer(http_server)
    yield fs
    http_server.clear()
