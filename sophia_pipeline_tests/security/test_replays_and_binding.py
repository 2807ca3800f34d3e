"""Replays and forged requests are refused; services listen on loopback unless told.

What already exists and is not repeated here: forged and missing signatures
(``webhooks/test_signatures.py``, ``test_app.py::test_github_bad_signature_is_401_and_not_landed``),
a Slack retry and a GitHub redelivery deduplicated (``test_app.py``), stale Slack
timestamps on a fresh event (``test_app.py::test_slack_stale_timestamp_is_401``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sophia_pipeline.cli import build_parser
from sophia_pipeline.webhooks import server
from sophia_pipeline.webhooks.app import create_app
from sophia_pipeline.webhooks.landing import LandingStore
from sophia_pipeline_tests.webhooks.conftest import fresh_reader
from sophia_pipeline_tests.webhooks.payloads import (
    GITHUB_SECRET,
    SLACK_SECRET,
    encode,
    github_headers,
    github_issues,
    slack_headers,
    slack_message_event,
)

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LandingStore]:
    s = LandingStore(tmp_path / "landing")
    yield s
    s.close()


def landed(store: LandingStore, source: str) -> list[str]:
    events, _ = fresh_reader(store).read_after(source, None, 10_000)
    return [e.id for e in events]


def test_a_captured_slack_request_replayed_after_the_window_is_refused(
    store: LandingStore,
) -> None:
    clock = Clock(1_900_000_000.0)
    with TestClient(create_app(store, SLACK_SECRET, GITHUB_SECRET, clock=clock)) as client:
        body = encode(slack_message_event("Ev-captured"))
        captured = slack_headers(body, ts=int(clock.now))
        assert client.post("/webhooks/slack", content=body, headers=captured).status_code == 200
        # The same bytes, the same (valid) signature, 301 s later: an attacker's replay.
        clock.now += 301
        replay = client.post("/webhooks/slack", content=body, headers=captured)
        assert replay.status_code == 401 and replay.json()["error"] == "stale_timestamp"
        # A replay of a never-seen event inside the window with a forged signature: 401.
        other = encode(slack_message_event("Ev-forged"))
        forged = {**slack_headers(other, ts=int(clock.now)), "X-Slack-Signature": captured[
            "X-Slack-Signature"]}  # fmt: skip
        assert client.post("/webhooks/slack", content=other, headers=forged).status_code == 401
    assert landed(store, "slack") == ["Ev-captured"]


def test_a_github_delivery_replayed_is_landed_once_and_a_swapped_body_is_refused(
    store: LandingStore,
) -> None:
    with TestClient(create_app(store, SLACK_SECRET, GITHUB_SECRET)) as client:
        body = encode(github_issues())
        headers = github_headers(body, "issues", delivery="d-replayed")
        assert client.post("/webhooks/github", content=body, headers=headers).status_code in (
            200,
            202,
        )
        for _ in range(3):  # GitHub has no timestamp: the delivery GUID is the replay key
            again = client.post("/webhooks/github", content=body, headers=headers)
            assert again.json()["duplicate"] is True
        # The captured signature on another body (an attacker editing the payload).
        edited = encode({**github_issues(), "action": "deleted"})
        swapped = {**headers, "X-GitHub-Delivery": "d-edited"}
        assert client.post("/webhooks/github", content=edited, headers=swapped).status_code == 401
    assert landed(store, "github") == ["d-replayed"]


def test_services_listen_on_loopback_by_default() -> None:
    webhooks = build_parser().parse_args(["webhooks"])
    assert webhooks.host == "127.0.0.1"
    assert server.serve.__defaults__ is not None and server.serve.__defaults__[0] == "127.0.0.1"
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^HOST \?= 127\.0\.0\.1$", makefile, re.M)
    assert "dagster dev -w workspace.yaml -h $(HOST)" in makefile  # the UI uses HOST
    # Wildcard binds belong to containers only (the image's servers, reachable through
    # the ports the operator publishes); nothing a laptop runs binds 0.0.0.0.
    wildcard = [
        str(p.relative_to(REPO))
        for p in [*REPO.glob("sophia_pipeline/**/*.py"), REPO / "Makefile",
                  REPO / "workspace.yaml", REPO / "dagster.yaml"]
        if "0.0.0.0" in p.read_text()
    ]  # fmt: skip
    assert wildcard == []
    readme = (REPO / "README.md").read_text()
    cluster = readme.index("## From one laptop to a cluster")
    after = readme.index("\n## ", cluster + 1)
    outside = readme[:cluster] + readme[after:]
    assert "0.0.0.0" not in outside  # only the Kubernetes commands bind the pod's address
    from sophia_pipeline.settings import load_settings

    assert load_settings({}).api.host == "127.0.0.1"


def test_what_counts_as_loopback_for_the_bind_warning() -> None:
    assert server._is_loopback("127.0.0.1") and server._is_loopback("::1")
    assert server._is_loopback("localhost")
    assert not server._is_loopback("0.0.0.0") and not server._is_loopback("10.0.0.5")
