"""Fixtures for the webhook receiver: a landing store, the app, a raw ASGI caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message

from sophia_pipeline.webhooks.app import create_app
from sophia_pipeline.webhooks.landing import LandingStore, LocalFolderBackend
from sophia_pipeline_tests.webhooks.payloads import GITHUB_SECRET, SLACK_SECRET


def store_root(store: LandingStore) -> Path:
    assert isinstance(store.backend, LocalFolderBackend)
    return store.backend.root


def fresh_reader(store: LandingStore) -> LandingStore:
    """A second, read-only view of the same folder: what the sensors' process sees."""
    return LandingStore(store_root(store))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LandingStore]:
    s = LandingStore(tmp_path / "landing")
    yield s
    s.close()


@pytest.fixture
def app(store: LandingStore) -> Starlette:
    return create_app(store, SLACK_SECRET, GITHUB_SECRET)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    chunks_pulled: int


async def call_asgi(
    app: Starlette,
    method: str,
    path: str,
    headers: Sequence[tuple[bytes, bytes]],
    chunks: Sequence[bytes],
) -> RawResponse:
    """Drive the app with arbitrary raw headers and a body split into ``chunks``."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    pulled = 0
    pending = list(chunks) or [b""]

    async def receive() -> Message:
        nonlocal pulled
        if pulled < len(pending):
            chunk = pending[pulled]
            pulled += 1
            return {"type": "http.request", "body": chunk, "more_body": pulled < len(pending)}
        await asyncio.sleep(3600)  # the client sent everything: wait like a live socket
        return {"type": "http.disconnect"}

    status = 0
    out_headers: list[tuple[bytes, bytes]] = []
    body = bytearray()

    async def send(message: Message) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return RawResponse(status, out_headers, bytes(body), pulled)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()
