"""Webhook batches: landed deliveries (through the real receiver) back as raw records."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sophia_pipeline.sources import github
from sophia_pipeline.sources.landing import Accepted, canonical_json
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store.landing import LandedEvent, SQLiteLanding
from sophia_pipeline.webhooks.app import create_app
from sophia_pipeline.webhooks.batches import (
    BatchNotFoundError,
    WebhookBatch,
    convert,
    plan_batches,
    webhook_records,
)
from sophia_pipeline.webhooks.landing import LandingStore
from sophia_pipeline_tests.webhooks.payloads import (
    GITHUB_SECRET,
    SLACK_SECRET,
    encode,
    github_headers,
    github_issues,
    github_pull_request,
    github_push,
    slack_headers,
    slack_message_event,
)

PARENT_TS = "1736500000.000200"  # 2025-01-10T09:06:40Z
NEXT_DAY_TS = "1736600000.000100"  # 2025-01-11T12:53:20Z


# ---------------------------------------------------------------- landing helpers

Delivery = tuple[str, dict[str, Any], str | None]  # (source, payload, GitHub event name)


def slack_message(
    event_id: str, text: str, ts: str = PARENT_TS, thread_ts: str | None = None
) -> dict[str, Any]:
    payload = slack_message_event(event_id, text)
    payload["event"]["ts"] = payload["event"]["event_ts"] = ts
    if thread_ts is not None:
        payload["event"]["thread_ts"] = thread_ts
    return payload


def malformed_slack(event_id: str) -> dict[str, Any]:
    """Valid JSON, signed and landed, but no message envelope: the event lacks its
    channel and timestamp."""
    payload = slack_message_event(event_id)
    del payload["event"]["channel"], payload["event"]["ts"]
    return payload


def land(root: Path, deliveries: Iterable[Delivery]) -> None:
    """Deliver through the real receiver (signatures, event typing, dedup) into ``root``."""
    store = LandingStore(root)
    with TestClient(create_app(store, SLACK_SECRET, GITHUB_SECRET)) as client:
        for source, payload, event in deliveries:
            body = encode(payload)
            if source == "slack":
                headers = slack_headers(body)
            else:
                assert event is not None
                headers = github_headers(body, event, delivery=str(uuid.uuid4()))
            r = client.post(f"/webhooks/{source}", content=body, headers=headers)
            assert r.status_code in (200, 202), r.text


def all_events(root: Path, source: str) -> list[LandedEvent]:
    events, _ = LandingStore(root).read_after(source, None, 10_000)
    return events


# ---------------------------------------------------------------- the batch API


def test_batch_tags_round_trip_and_name_the_run() -> None:
    batch = WebhookBatch("slack", "slack:10", "slack:99", 7)
    assert WebhookBatch.from_tags(batch.to_tags(), "slack") == batch
    assert WebhookBatch.from_tags(batch.to_tags(), "github") is None
    assert batch.run_key == "slack:slack:10->slack:99"
    first = WebhookBatch("github", None, "github:5")
    assert first.run_key == "github:start->github:5"
    assert WebhookBatch.from_tags(first.to_tags(), "github") == first
    # Days ride in Dagster's own partition tags, not here: they never change the batch.
    assert WebhookBatch("slack", None, "x", 1, date(2025, 1, 1)) == WebhookBatch(
        "slack", None, "x", 1
    )


def test_records_are_read_strictly_after_from_up_to_and_including_to(tmp_path: Path) -> None:
    root = tmp_path / "webhooks"
    land(root, [("slack", slack_message(f"Ev{i}", f"message {i}"), None) for i in range(5)])
    events = all_events(root, "slack")
    batch = WebhookBatch("slack", events[0].cursor, events[3].cursor, 3)
    accepted, rejected = webhook_records(SPECS["slack"], SQLiteLanding(root), batch)
    assert rejected == []
    assert [a.record.event_id for a in accepted] == ["Ev1", "Ev2", "Ev3"]
    # The database and sequence number: an operator can find the row a record came from.
    assert {a.source_file for a in accepted} == {f"{root / 'landing.sqlite3'}#slack"}
    assert [a.line_no for a in accepted] == [2, 3, 4]
    assert all(a.entity == "message" and a.day == date(2025, 1, 10) for a in accepted)
    # Without a size (older tags) the read stops at to_cursor all the same.
    unsized = WebhookBatch("slack", None, events[1].cursor)
    assert [
        a.record.event_id for a in webhook_records(SPECS["slack"], SQLiteLanding(root), unsized)[0]
    ] == [
        "Ev0",
        "Ev1",
    ]


def test_a_batch_the_store_does_not_hold_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "webhooks"
    land(root, [("slack", slack_message(f"Ev{i}", "hi"), None) for i in range(3)])
    events = all_events(root, "slack")
    # Planned as 2 events, but the store has 3 between the cursors: not the same batch.
    wrong = WebhookBatch("slack", None, events[2].cursor, 2)
    with pytest.raises(BatchNotFoundError):
        webhook_records(SPECS["slack"], SQLiteLanding(root), wrong)
    gone = WebhookBatch("slack", events[2].cursor, "slack:99")
    with pytest.raises(BatchNotFoundError):
        webhook_records(SPECS["slack"], SQLiteLanding(root), gone)


def test_plan_batches_is_deterministic_and_carries_days(tmp_path: Path) -> None:
    root = tmp_path / "webhooks"
    land(
        root,
        [
            ("slack", slack_message("Ev0", "a"), None),
            ("slack", slack_message("Ev1", "b", NEXT_DAY_TS), None),
            ("slack", malformed_slack("EvBAD"), None),
        ],
    )
    store = LandingStore(root)
    plan = plan_batches(SPECS["slack"], store, None, max_events=2, max_batches=5)
    assert [b.size for b in plan] == [2, 1]
    assert plan[0].from_cursor is None and plan[1].from_cursor == plan[0].to_cursor
    assert (plan[0].first_day, plan[0].last_day) == (date(2025, 1, 10), date(2025, 1, 11))
    # A batch of rejects only still runs somewhere: the day it was received.
    assert plan[1].first_day == plan[1].last_day and plan[1].first_day >= date(2025, 1, 1)
    again = plan_batches(SPECS["slack"], store, None, max_events=2, max_batches=5)
    assert [b.run_key for b in again] == [b.run_key for b in plan]
    assert plan_batches(SPECS["slack"], store, plan[-1].to_cursor, 2, 5) == []
    assert len(plan_batches(SPECS["slack"], store, None, 2, 1)) == 1


# ---------------------------------------------------------------- Slack


def test_malformed_slack_envelope_is_rejected_with_a_readable_reason(tmp_path: Path) -> None:
    root = tmp_path / "webhooks"
    rate_limited = {
        "token": "x",
        "type": "app_rate_limited",
        "team_id": "T123ABC456",
        "minute_rate_limited": 1518467820,
        "api_app_id": "A123ABC456",
    }
    land(
        root,
        [
            ("slack", slack_message("EvOK", "fine"), None),
            ("slack", malformed_slack("EvBAD"), None),
            ("slack", rate_limited, None),
        ],
    )
    events = all_events(root, "slack")
    accepted, rejected = webhook_records(
        SPECS["slack"], SQLiteLanding(root), WebhookBatch("slack", None, events[-1].cursor, 3)
    )
    assert [a.record.event_id for a in accepted] == ["EvOK"]
    bad, limited = rejected
    assert "EvBAD" in bad.error and "event.channel: Field required" in bad.error
    assert "event.ts: Field required" in bad.error
    assert bad.line_no == 2 and bad.source_file.endswith("landing.sqlite3#slack")
    assert "unsupported Slack envelope type 'app_rate_limited'" in limited.error
    assert '"EvBAD"' in bad.raw  # the delivery itself, for a replay


def test_a_lone_surrogate_in_a_slack_event_is_rejected_and_the_batch_moves_on(
    tmp_path: Path,
) -> None:
    """An emoji cut at a UTF-16 boundary is valid JSON the receiver accepts; the sensor's
    planning and the run's read-back turn it into a dead letter instead of raising."""
    root = tmp_path / "webhooks"
    land(
        root,
        [
            ("slack", slack_message("EvOK1", "before"), None),
            ("slack", slack_message("EvCUT", "launch \ud83d"), None),
            ("slack", slack_message("EvOK2", "after"), None),
        ],
    )
    (batch,) = plan_batches(SPECS["slack"], LandingStore(root), None, 10, 5)
    assert batch.size == 3 and batch.first_day == batch.last_day == date(2025, 1, 10)

    accepted, rejected = webhook_records(SPECS["slack"], SQLiteLanding(root), batch)

    assert [a.record.event_id for a in accepted] == ["EvOK1", "EvOK2"]
    (cut,) = rejected
    assert cut.line_no == 2 and cut.source_file.endswith("landing.sqlite3#slack")
    assert "EvCUT" in cut.error and "unpaired surrogate '\\ud83d'" in cut.error
    # Storable as the dead-letter payload, and still the delivery (surrogate escaped).
    assert json.loads(cut.raw)["event"]["text"] == "launch \ud83d"
    cut.raw.encode("utf-8")


# ---------------------------------------------------------------- GitHub


def github_deliveries() -> list[Delivery]:
    push = github_push()
    removal = copy.deepcopy(push)
    removal["commits"][0]["modified"] = []
    removal["commits"][0]["removed"] = ["docs/old.md"]
    removal["head_commit"] = removal["commits"][0]
    return [
        ("github", push, "push"),
        ("github", github_pull_request(), "pull_request"),
        ("github", github_issues(), "issues"),
        ("github", removal, "push"),
    ]


def test_github_webhooks_become_events_api_records(tmp_path: Path) -> None:
    root = tmp_path / "webhooks"
    land(root, github_deliveries())
    events = all_events(root, "github")
    accepted, rejected = webhook_records(
        SPECS["github"], SQLiteLanding(root), WebhookBatch("github", None, events[-1].cursor, 4)
    )
    assert rejected == []
    push, pr, issue, removal = (a.record for a in accepted)
    assert isinstance(push, github.PushEvent)
    assert isinstance(pr, github.PullRequestEvent)
    assert isinstance(issue, github.IssuesEvent)
    assert push.id == f"delivery-{events[0].id}"
    assert push.actor.login == "octocat" and push.repo.name == "octo-org/sophia"
    assert push.payload.head == "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    assert push.payload.commits[0].sha == push.payload.head
    assert push.created_at.isoformat().startswith(events[0].received_at[:19])
    # A webhook carries paths, not content: a modified file says nothing to index ...
    assert github.normalize(push) == []
    # ... a removed one on the default branch is a tombstone.
    (gone,) = github.normalize(removal)
    assert gone.doc_id == "github:file:octo-org/sophia/docs/old.md" and gone.deleted
    assert [d.doc_id for d in github.normalize(pr)] == [
        "github:pull_request:octo-org/sophia/pull/42"
    ]
    assert [d.doc_id for d in github.normalize(issue)] == ["github:issue:octo-org/sophia/issues/12"]
    assert all(a.entity == "event" and a.day == push.created_at.date() for a in accepted)
    # Canonical JSON of the converted record: what the documents stage parses again.
    assert all(SPECS["github"].parse("event", json.loads(a.raw)) for a in accepted)


def test_a_removal_on_a_feature_branch_tombstones_nothing() -> None:
    body = github_push()
    body["ref"] = "refs/heads/feature"
    body["commits"][0]["removed"] = ["README.md"]
    event = LandedEvent("guid-1", "github", "push", "2025-01-10T10:00:00.000000Z", {}, body, "c")
    parsed = github.parse(github.webhook_record(event))
    assert isinstance(parsed, github.PushEvent)
    assert parsed.payload.files == [] and github.normalize(parsed) == []


def test_unknown_github_events(tmp_path: Path) -> None:
    root = tmp_path / "webhooks"
    sponsor = {"action": "created", "repository": github_pull_request()["repository"]}
    sponsor["sender"] = github_pull_request()["sender"]
    land(root, [("github", sponsor, "sponsorship")])
    store = LandingStore(root)
    with store:
        # What a sender with no X-GitHub-Event header leaves behind.
        store.append("github", "guid-x", "unknown", {"zen": "?"}, {})
    events = all_events(root, "github")
    assert events[0].event_type == "unknown"  # the receiver did not know it
    accepted, rejected = webhook_records(
        SPECS["github"], SQLiteLanding(root), WebhookBatch("github", None, events[-1].cursor, 2)
    )
    # Named by its header: kept in the raw layer as an event that makes no document.
    assert [type(a.record).__name__ for a in accepted] == ["OtherEvent"]
    assert accepted[0].record.type == "SponsorshipEvent"
    (bad,) = rejected
    assert "unknown GitHub event type 'unknown'" in bad.error and "guid-x" in bad.error


def test_slack_day_is_the_utc_day_of_the_message_not_of_delivery() -> None:
    payload = slack_message("Ev1", "late", NEXT_DAY_TS)
    event = LandedEvent("Ev1", "slack", "message", "2025-03-01T00:00:00.000000Z", {}, payload, "c")
    result = convert(SPECS["slack"], event, "segment", 1)
    assert isinstance(result, Accepted) and result.day == date(2025, 1, 11)
    assert result.raw == canonical_json(payload)
    assert result.content_hash == hashlib.sha256(result.raw.encode()).hexdigest()
