"""What differs between webhook senders, one strategy each; the receiver (``app.py``) runs
the same steps for all of them.

A sender says how its requests are verified (signature scheme, timestamp freshness), how
the body is parsed, which payloads are control messages answered instead of landed
(Slack's ``url_verification`` challenge, GitHub's ``ping``), where the event id is (a
JSON field, a delivery header), how events are classified, and which request headers
are kept with the landed event. Pure: no I/O, no Starlette.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from sophia_pipeline.webhooks.signatures import (
    SLACK_TIMESTAMP_TOLERANCE_S,
    Verdict,
    verify_github,
    verify_slack,
)

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

_NAME_RE = re.compile(r"^[a-z0-9_]{1,64}$")


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(body: bytes) -> Any:
    """Strict JSON from UTF-8 bytes; raises ValueError for anything else."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_strict_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class Rejection(Exception):
    """A request refused with 400; carries the short reason code (a metric label and the
    response's ``error``)."""


@dataclass(frozen=True)
class Reply:
    """The answer to a control message: sent with 200, logged as ``outcome``, not landed."""

    outcome: str
    body: dict[str, Any]


class Sender(ABC):
    """One webhook sender's rules. ``headers`` are the request's (case-insensitive)."""

    name: str
    landed_headers: tuple[str, ...]
    bad_id_reason: str  # the rejection reason for an event id that is not a safe token

    def note(self, headers: Mapping[str, str], fields: dict[str, Any]) -> None:
        """Adds what the access log should show from the headers alone (before the body)."""
        return None  # most senders announce nothing there

    @abstractmethod
    def verify(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        """The signature check over the raw body."""

    def parse(self, headers: Mapping[str, str], body: bytes) -> Any:
        """The payload; raises ValueError when the body is not what the sender sends."""
        return parse_json_body(body)

    @abstractmethod
    def control(self, headers: Mapping[str, str], payload: dict[str, Any]) -> Reply | None:
        """The reply to a control message, None for an event; raises Rejection."""

    @abstractmethod
    def raw_event_id(self, headers: Mapping[str, str], payload: dict[str, Any]) -> object:
        """The sender's id for the event as given (None when it sent none)."""

    @abstractmethod
    def classify(self, headers: Mapping[str, str], payload: dict[str, Any]) -> tuple[str, bool]:
        """(event type, whether the downstream sensors know it)."""


@dataclass
class SlackSender(Sender):
    """Slack's Events API: signed with a timestamp that must be fresh, event id in the
    body, retries announced in ``X-Slack-Retry-Num``."""

    secret: str
    clock: Callable[[], float] = time.time
    tolerance_s: float = SLACK_TIMESTAMP_TOLERANCE_S
    name: str = field(default="slack", init=False)
    landed_headers: tuple[str, ...] = field(default=SLACK_LANDED_HEADERS, init=False)
    bad_id_reason: str = field(default="bad_event_id", init=False)

    def note(self, headers: Mapping[str, str], fields: dict[str, Any]) -> None:
        retry = headers.get("x-slack-retry-num")
        if retry is not None:
            fields["retry_num"] = retry[:8]

    def verify(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        return verify_slack(
            self.secret,
            headers.get("x-slack-request-timestamp"),
            headers.get("x-slack-signature"),
            body,
            now=self.clock(),
            tolerance_s=self.tolerance_s,
        )

    def control(self, headers: Mapping[str, str], payload: dict[str, Any]) -> Reply | None:
        if payload.get("type") != "url_verification":
            return None
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            raise Rejection("bad_challenge")
        return Reply("url_verification", {"challenge": challenge})

    def raw_event_id(self, headers: Mapping[str, str], payload: dict[str, Any]) -> object:
        return payload.get("event_id")

    def classify(self, headers: Mapping[str, str], payload: dict[str, Any]) -> tuple[str, bool]:
        envelope = payload.get("type")
        if envelope == "event_callback":
            inner = payload.get("event")
            inner_type = inner.get("type") if isinstance(inner, dict) else None
            if isinstance(inner_type, str) and inner_type in SLACK_KNOWN_EVENTS:
                return inner_type, True
        elif envelope == "app_rate_limited":
            # Slack telling us it is dropping events: worth keeping for operators.
            return "app_rate_limited", True
        return UNKNOWN_EVENT, False


@dataclass
class GitHubSender(Sender):
    """GitHub: HMAC-SHA256 signature, id in ``X-GitHub-Delivery``, event name in
    ``X-GitHub-Event`` (with the payload's ``action``), JSON or form-encoded bodies."""

    secret: str
    name: str = field(default="github", init=False)
    landed_headers: tuple[str, ...] = field(default=GITHUB_LANDED_HEADERS, init=False)
    bad_id_reason: str = field(default="bad_delivery_id", init=False)

    def verify(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        return verify_github(self.secret, headers.get("x-hub-signature-256"), body)

    def parse(self, headers: Mapping[str, str], body: bytes) -> Any:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return parse_json_body(body)
        # GitHub's alternative delivery format: the JSON sits in a "payload" field.
        try:
            form = parse_qs(body.decode("utf-8"), max_num_fields=16, strict_parsing=True)
            return parse_json_body(form["payload"][0].encode("utf-8"))
        except (KeyError, IndexError) as exc:
            raise ValueError("no payload field") from exc

    def control(self, headers: Mapping[str, str], payload: dict[str, Any]) -> Reply | None:
        if headers.get("x-github-event") != "ping":
            return None
        zen = payload.get("zen")
        return Reply("ping", {"ok": True, "zen": zen if isinstance(zen, str) else None})

    def raw_event_id(self, headers: Mapping[str, str], payload: dict[str, Any]) -> object:
        return headers.get("x-github-delivery")

    def classify(self, headers: Mapping[str, str], payload: dict[str, Any]) -> tuple[str, bool]:
        event = headers.get("x-github-event")
        if event is None or event not in GITHUB_KNOWN_EVENTS:
            return UNKNOWN_EVENT, False
        action = payload.get("action")
        if isinstance(action, str) and _NAME_RE.match(action):
            return f"{event}.{action}", True
        return event, True
