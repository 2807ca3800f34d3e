"""Fixtures for the webhook receiver: a landing store, the app, a raw ASGI caller."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message

from sophia_pipeline.store.landing import LandingBackend, S3Landing, SQLiteLanding
from sophia_pipeline.store.landing.s3 import make_client
from sophia_pipeline.webhooks.app import create_app
from sophia_pipeline.webhooks.landing import LandingStore
from sophia_pipeline_tests.webhooks.payloads import GITHUB_SECRET, SLACK_SECRET
from sophia_pipeline_tests.webhooks.seaweedfs import ACCESS_KEY, SECRET_KEY, S3Server, seaweedfs

# Long enough that a writer on a loaded test machine never gives up; readers in the
# tests look from a clock this far ahead, so they need not wait for it.
TEST_LAG_S = 30.0


def store_root(store: LandingStore) -> Path:
    assert isinstance(store.backend, SQLiteLanding)
    return store.backend.root


def fresh_reader(store: LandingStore) -> LandingStore:
    """A second, read-only view of the same folder: what the sensors' process sees."""
    return LandingStore(store_root(store))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real SeaweedFS S3 server for the session; each test takes its own prefix."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def s3_backend(
    server: S3Server, url: str, *, lag_s: float = TEST_LAG_S, ahead_s: float = 0.0
) -> S3Landing:
    client = make_client(
        endpoint_url=server.endpoint,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        session_token=None,
        region=None,
        lag_s=lag_s,
    )
    return S3Landing(url, client, lag_s=lag_s, clock=lambda: time.time() + ahead_s)


@dataclass
class Landing:
    """A backend to write through and a second instance reading the same place, as the
    sensors' process does (for S3 from a clock past the lag window)."""

    kind: str
    writer: LandingBackend
    reader: LandingBackend
    again: Callable[[], LandingBackend]  # a fresh writer instance (a restart, a replica)
    # A fresh writer past the lag window (S3: claims without a batch are stale by then).
    later: Callable[[], LandingBackend]


@pytest.fixture(params=["sqlite", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Landing]:
    if request.param == "sqlite":
        root = tmp_path / "landing"

        def fresh() -> SQLiteLanding:
            return SQLiteLanding(root)

        yield Landing("sqlite", fresh(), fresh(), fresh, fresh)
        return
    server: S3Server = request.getfixturevalue("s3_server")
    url = f"s3://{server.bucket}/{uuid.uuid4().hex}"
    yield Landing(
        "s3",
        s3_backend(server, url),
        s3_backend(server, url, ahead_s=TEST_LAG_S + 1),
        lambda: s3_backend(server, url),
        lambda: s3_backend(server, url, ahead_s=TEST_LAG_S + 1),
    )


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
