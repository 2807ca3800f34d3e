"""The receiver end to end through the ASGI app, with real-shaped, really signed requests."""

from __future__ import annotations

import asyncio
import errno
import io
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sophia_pipeline.store.landing import LandingError, SQLiteLanding
from sophia_pipeline.store.landing import sqlite as landing_sqlite
from sophia_pipeline.webhooks.app import create_app
from sophia_pipeline.webhooks.landing import LandingStore
from sophia_pipeline.webhooks.server import ConfigError, JsonLogFormatter, build_app
from sophia_pipeline.webhooks.signatures import github_signature, slack_signature
from sophia_pipeline_tests.webhooks.conftest import call_asgi, fresh_reader
from sophia_pipeline_tests.webhooks.payloads import (
    GITHUB_SECRET,
    SLACK_SECRET,
    encode,
    github_headers,
    github_issues,
    github_ping,
    github_pull_request,
    github_push,
    slack_headers,
    slack_message_event,
    slack_url_verification,
)


def _landed(store: LandingStore, source: str) -> list[str]:
    # A fresh reader: what another process (the sensor) would see.
    events, _ = fresh_reader(store).read_after(source, None, 10_000)
    return [e.id for e in events]


# ---------------------------------------------------------------- Slack


def test_slack_message_event_is_landed(client: TestClient, store: LandingStore) -> None:
    payload = slack_message_event("Ev0PV52K21")
    body = encode(payload)
    r = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
    assert r.status_code == 200
    assert r.json() == {"ok": True, "id": "Ev0PV52K21", "duplicate": False, "event_type": "message"}
    (event,), _ = fresh_reader(store).read_after("slack", None, 10)
    assert event.id == "Ev0PV52K21"
    assert event.event_type == "message"
    assert event.payload == payload
    assert "x-slack-signature" not in event.headers
    assert event.headers["x-slack-request-timestamp"].isdigit()


def test_slack_url_verification_echoes_challenge_after_verifying(
    client: TestClient, store: LandingStore
) -> None:
    body = encode(slack_url_verification("abc123challenge"))
    r = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
    assert r.status_code == 200
    assert r.json() == {"challenge": "abc123challenge"}
    bad = slack_headers(body, secret="wrong")
    assert client.post("/webhooks/slack", content=body, headers=bad).status_code == 401
    assert _landed(store, "slack") == []


def test_slack_retry_is_deduplicated(client: TestClient, store: LandingStore) -> None:
    body = encode(slack_message_event("Ev-retry"))
    assert (
        client.post("/webhooks/slack", content=body, headers=slack_headers(body)).status_code == 200
    )
    retry = client.post("/webhooks/slack", content=body, headers=slack_headers(body, retry_num=1))
    assert retry.status_code == 200
    assert retry.json()["duplicate"] is True
    assert _landed(store, "slack") == ["Ev-retry"]
    metrics = client.get("/metrics").text
    assert 'sophia_webhook_dedup_hits_total{source="slack"} 1.0' in metrics


@pytest.mark.parametrize("skew", [-301, 301, -7200])
def test_slack_stale_timestamp_is_401(client: TestClient, store: LandingStore, skew: int) -> None:
    body = encode(slack_message_event())
    headers = slack_headers(body, ts=int(time.time()) + skew)
    r = client.post("/webhooks/slack", content=body, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "stale_timestamp"
    assert _landed(store, "slack") == []


def test_slack_unknown_event_type_is_landed_as_unknown(
    client: TestClient, store: LandingStore
) -> None:
    payload = slack_message_event("Ev-odd")
    payload["event"]["type"] = "workflow_step_execute"
    body = encode(payload)
    r = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
    assert r.status_code == 202
    (event,), _ = fresh_reader(store).read_after("slack", None, 10)
    assert (event.id, event.event_type) == ("Ev-odd", "unknown")
    assert event.payload["event"]["type"] == "workflow_step_execute"


def test_slack_envelope_without_event_id_still_lands_once(
    client: TestClient, store: LandingStore
) -> None:
    body = encode({"type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1518467820})
    first = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
    again = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
    assert first.status_code == 200 and not first.json()["duplicate"]
    assert again.json()["duplicate"]
    assert _landed(store, "slack") == [first.json()["id"]]
    assert first.json()["id"].startswith("sha256:")


# ---------------------------------------------------------------- GitHub


@pytest.mark.parametrize(
    ("event", "payload", "event_type"),
    [
        ("push", github_push(), "push"),
        ("pull_request", github_pull_request("opened"), "pull_request.opened"),
        ("pull_request", github_pull_request("closed"), "pull_request.closed"),
        ("issues", github_issues("opened"), "issues.opened"),
        ("issues", github_issues("labeled"), "issues.labeled"),
    ],
)
def test_github_events_are_landed(
    client: TestClient, store: LandingStore, event: str, payload: dict[str, object], event_type: str
) -> None:
    body = encode(payload)
    headers = github_headers(body, event, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    r = client.post("/webhooks/github", content=body, headers=headers)
    assert r.status_code == 200
    assert r.json()["event_type"] == event_type
    (landed,), _ = fresh_reader(store).read_after("github", None, 10)
    assert landed.id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert landed.event_type == event_type
    assert landed.payload == payload
    assert landed.headers["x-github-event"] == event
    assert "x-hub-signature-256" not in landed.headers


def test_github_redelivery_is_deduplicated(client: TestClient, store: LandingStore) -> None:
    body = encode(github_push())
    headers = github_headers(body, "push", delivery="d-redeliver")
    assert (
        client.post("/webhooks/github", content=body, headers=headers).json()["duplicate"] is False
    )
    assert (
        client.post("/webhooks/github", content=body, headers=headers).json()["duplicate"] is True
    )
    assert _landed(store, "github") == ["d-redeliver"]


def test_github_ping_is_answered_not_landed(client: TestClient, store: LandingStore) -> None:
    body = encode(github_ping())
    r = client.post("/webhooks/github", content=body, headers=github_headers(body, "ping"))
    assert r.status_code == 200
    assert r.json() == {"ok": True, "zen": "Keep it logically awesome."}
    assert _landed(store, "github") == []


def test_github_unknown_event_is_202_and_landed(client: TestClient, store: LandingStore) -> None:
    body = encode({"action": "created", "sponsorship": {"tier": {"name": "$5"}}})
    r = client.post(
        "/webhooks/github",
        content=body,
        headers=github_headers(body, "sponsorship", delivery="d-s"),
    )
    assert r.status_code == 202
    (landed,), _ = fresh_reader(store).read_after("github", None, 10)
    assert (landed.id, landed.event_type, landed.headers["x-github-event"]) == (
        "d-s",
        "unknown",
        "sponsorship",
    )


def test_github_form_encoded_delivery(client: TestClient, store: LandingStore) -> None:
    payload = github_issues("opened")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = github_headers(body, "issues", delivery="d-form")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    r = client.post("/webhooks/github", content=body, headers=headers)
    assert r.status_code == 200
    (landed,), _ = fresh_reader(store).read_after("github", None, 10)
    assert landed.payload == payload


def test_github_published_vector_reaches_the_json_check(client: TestClient) -> None:
    # Correctly signed (GitHub's own test vector) but not JSON: passes 401, fails 400.
    headers = {
        "X-Hub-Signature-256": (
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        ),
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-vector",
    }
    r = client.post("/webhooks/github", content=b"Hello, World!", headers=headers)
    assert r.status_code == 400
    assert r.json()["error"] == "malformed_json"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h.pop("X-Hub-Signature-256"),
        lambda h: h.update({"X-Hub-Signature-256": "sha256=" + "0" * 64}),
        lambda h: h.update({"X-Hub-Signature-256": "garbage"}),
        lambda h: h.update({"X-Hub-Signature-256": github_signature("wrong", b"{}")}),
    ],
)
def test_github_bad_signature_is_401_and_not_landed(
    client: TestClient, store: LandingStore, mutate: Callable[[dict[str, str]], object]
) -> None:
    body = encode(github_push())
    headers = github_headers(body, "push")
    mutate(headers)
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 401
    assert _landed(store, "github") == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe{}",
        b'{"a": NaN}',
        b"[1, 2]",
        b'"str"',
        b"1e999999",
        b'{"a": 1e999}',
    ],
)
def test_malformed_signed_bodies_are_400(
    client: TestClient, store: LandingStore, body: bytes
) -> None:
    r1 = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
    r2 = client.post("/webhooks/github", content=body, headers=github_headers(body, "push"))
    assert (r1.status_code, r2.status_code) == (400, 400)
    assert _landed(store, "slack") == [] and _landed(store, "github") == []


def test_deeply_nested_json_is_400_not_500(client: TestClient) -> None:
    for depth in (900, 100_000):
        body = b"[" * depth + b"]" * depth
        obj = b'{"a":' + body + b"}"
        r = client.post("/webhooks/github", content=obj, headers=github_headers(obj, "push"))
        assert r.status_code in (200, 400)


def test_content_length_over_cap_is_413_without_reading(
    store: LandingStore, loop: asyncio.AbstractEventLoop
) -> None:
    app = create_app(store, SLACK_SECRET, GITHUB_SECRET, max_body_bytes=1000)
    headers = [(b"content-length", b"5000000"), (b"content-type", b"application/json")]
    resp = loop.run_until_complete(
        call_asgi(app, "POST", "/webhooks/slack", headers, [b"x" * 1000] * 5000)
    )
    assert resp.status == 413
    assert resp.chunks_pulled == 0
    assert (b"connection", b"close") in resp.headers


def test_streamed_body_over_cap_stops_reading(
    store: LandingStore, loop: asyncio.AbstractEventLoop
) -> None:
    app = create_app(store, SLACK_SECRET, GITHUB_SECRET, max_body_bytes=1000)
    chunks = [b"x" * 300] * 1000  # no Content-Length: chunked transfer
    resp = loop.run_until_complete(call_asgi(app, "POST", "/webhooks/github", [], chunks))
    assert resp.status == 413
    assert resp.chunks_pulled == 4  # 1200 bytes > 1000: stopped right there


def test_body_at_exactly_the_cap_is_accepted(store: LandingStore) -> None:
    payload = slack_message_event("Ev-cap")
    body = encode(payload)
    app = create_app(store, SLACK_SECRET, GITHUB_SECRET, max_body_bytes=len(body))
    with TestClient(app) as c:
        assert (
            c.post("/webhooks/slack", content=body, headers=slack_headers(body)).status_code == 200
        )
        bigger = body + b" "
        assert (
            c.post("/webhooks/slack", content=bigger, headers=slack_headers(bigger)).status_code
            == 413
        )


def test_default_cap_is_one_mebibyte(client: TestClient) -> None:
    body = b'{"pad": "' + b"a" * (1024 * 1024) + b'"}'
    r = client.post("/webhooks/github", content=body, headers=github_headers(body, "push"))
    assert r.status_code == 413


def test_invalid_content_length_is_400(
    store: LandingStore, loop: asyncio.AbstractEventLoop
) -> None:
    app = create_app(store, SLACK_SECRET, GITHUB_SECRET)
    for value in (b"abc", b"-1", b"9" * 5000):
        resp = loop.run_until_complete(
            call_asgi(app, "POST", "/webhooks/github", [(b"content-length", value)], [b"{}"])
        )
        assert resp.status in (400, 413)


def test_wrong_method_and_unknown_path(client: TestClient) -> None:
    assert client.get("/webhooks/slack").status_code == 405
    assert client.post("/webhooks/linear", content=b"{}").status_code == 404


# ---------------------------------------------------------------- operations


def test_health_ready_metrics(client: TestClient, store: LandingStore) -> None:
    assert client.get("/health").json() == {"ok": True}
    assert client.get("/ready").status_code == 200
    body = encode(github_push())
    client.post("/webhooks/github", content=body, headers=github_headers(body, "push"))
    client.post("/webhooks/github", content=body, headers={"X-GitHub-Event": "push"})
    text = client.get("/metrics").text
    assert 'sophia_webhook_requests_total{endpoint="/webhooks/github",status="200"} 1.0' in text
    assert 'sophia_webhook_requests_total{endpoint="/webhooks/github",status="401"} 1.0' in text
    assert 'sophia_webhook_landing_seconds_count{source="github"} 1.0' in text
    assert 'sophia_webhook_rejected_total{reason="missing_signature",source="github"} 1.0' in text


def test_ready_is_503_when_the_landing_folder_is_not_writable(tmp_path: Path) -> None:
    store = LandingStore(tmp_path / "land")
    app = create_app(store, SLACK_SECRET, GITHUB_SECRET)
    with TestClient(app) as c:
        assert c.get("/ready").status_code == 200
        store.close()  # the writer is gone: not ready
        assert c.get("/ready").status_code == 503


def test_ready_recovers_once_the_disk_has_space_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LandingStore(tmp_path / "land")
    # No hold after a failed write (default: a few seconds): this test needs no sleep.
    store.recovery_probe_after_s = 0.0
    app = create_app(store, SLACK_SECRET, GITHUB_SECRET)

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def commit_fails(self: object, group: object) -> list[bool]:
        raise LandingError("database or disk is full")

    body = encode(github_push())
    with TestClient(app) as c:
        assert c.get("/ready").status_code == 200
        with monkeypatch.context() as full:
            full.setattr(SQLiteLanding, "land", commit_fails)
            full.setattr(landing_sqlite.os, "fsync", disk_full)  # what the probe meets
            r = c.post("/webhooks/github", content=body, headers=github_headers(body, "push"))
            assert r.status_code == 503
            assert c.get("/ready").status_code == 503  # still full: still not ready
        # Space again, and no event has succeeded since: /ready finds out by itself.
        assert c.get("/ready").json() == {"ok": True, "landing_writable": True}
        r = c.post("/webhooks/github", content=body, headers=github_headers(body, "push"))
        assert r.status_code == 200 and r.json()["duplicate"] is False
    assert _landed(store, "github") == [r.json()["id"]]


def test_landing_failure_is_503_not_500(tmp_path: Path) -> None:
    blocked = tmp_path / "land"
    blocked.write_text("a file where the landing folder should be")
    store = LandingStore(blocked)
    app = create_app(store, SLACK_SECRET, GITHUB_SECRET)
    c = TestClient(app, raise_server_exceptions=False)  # no lifespan: opens lazily
    body = encode(github_push())
    r = c.post("/webhooks/github", content=body, headers=github_headers(body, "push"))
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert c.get("/ready").status_code == 503
    store.close()


def test_disabled_source_is_404_and_needs_no_secret(store: LandingStore) -> None:
    app = create_app(store, None, GITHUB_SECRET, slack_enabled=False)
    with TestClient(app) as c:
        body = encode(slack_message_event())
        assert (
            c.post("/webhooks/slack", content=body, headers=slack_headers(body)).status_code == 404
        )


def test_enabled_source_without_secret_is_refused(store: LandingStore) -> None:
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        create_app(store, None, GITHUB_SECRET)
    with pytest.raises(ValueError, match="GITHUB_WEBHOOK_SECRET"):
        create_app(store, SLACK_SECRET, "")


def test_build_app_names_the_missing_variable(tmp_path: Path) -> None:
    env = {"GITHUB_WEBHOOK_SECRET": "g", "SOPHIA_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        build_app(environ=env)
    with pytest.raises(ConfigError, match="GITHUB_WEBHOOK_SECRET"):
        build_app(environ={"SLACK_SIGNING_SECRET": "s"})
    app = build_app(environ=env, slack_enabled=False)
    assert isinstance(app, Starlette)
    assert app.state.store.backend.root == tmp_path.resolve() / "webhooks"


def test_access_log_is_json_without_secrets(client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("sophia_pipeline.webhooks.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        body = encode(slack_message_event("Ev-log"))
        headers = slack_headers(body)
        client.post("/webhooks/slack", content=body, headers=headers)
        bad = dict(headers, **{"X-Slack-Signature": slack_signature("nope", "1", b"")})
        client.post("/webhooks/slack", content=body, headers=bad)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [(x["path"], x["status"]) for x in lines] == [
        ("/webhooks/slack", 200),
        ("/webhooks/slack", 401),
    ]
    assert lines[0]["event_id"] == "Ev-log" and lines[0]["outcome"] == "landed"
    assert isinstance(lines[0]["latency_ms"], float)
    assert lines[1]["outcome"] == "rejected:bad_signature"
    text = stream.getvalue()
    assert SLACK_SECRET not in text
    assert headers["X-Slack-Signature"] not in text and bad["X-Slack-Signature"] not in text
