"""Real-shaped Slack Events API and GitHub webhook requests, signed the real way."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sophia_pipeline.webhooks.signatures import github_signature, slack_signature

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GITHUB_SECRET = "It's a Secret to Everybody"

_OWNER = {
    "login": "octo-org",
    "id": 6811672,
    "node_id": "MDEyOk9yZ2FuaXphdGlvbjY4MTE2NzI=",
    "avatar_url": "https://avatars.githubusercontent.com/u/6811672?v=4",
    "url": "https://api.github.com/users/octo-org",
    "html_url": "https://github.com/octo-org",
    "type": "Organization",
    "site_admin": False,
}
_SENDER = {
    "login": "octocat",
    "id": 583231,
    "node_id": "MDQ6VXNlcjU4MzIzMQ==",
    "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
    "url": "https://api.github.com/users/octocat",
    "html_url": "https://github.com/octocat",
    "type": "User",
    "site_admin": False,
}
_REPOSITORY = {
    "id": 1296269,
    "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
    "name": "sophia",
    "full_name": "octo-org/sophia",
    "private": True,
    "owner": _OWNER,
    "html_url": "https://github.com/octo-org/sophia",
    "description": "Sales intelligence pipeline",
    "fork": False,
    "url": "https://api.github.com/repos/octo-org/sophia",
    "created_at": 1700000000,
    "updated_at": "2025-01-10T09:00:00Z",
    "pushed_at": 1736500000,
    "default_branch": "main",
    "visibility": "private",
}


def slack_message_event(
    event_id: str | None = None, text: str = "Acme asked about pricing"
) -> dict[str, Any]:
    eid = event_id or f"Ev{uuid.uuid4().hex[:10].upper()}"
    return {
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": {
            "type": "message",
            "channel": "C123ABC456",
            "user": "U123ABC456",
            "text": text,
            "ts": "1736500000.000200",
            "event_ts": "1736500000.000200",
            "channel_type": "channel",
            "client_msg_id": str(uuid.uuid4()),
            "team": "T123ABC456",
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": "Xy1",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                    ],
                }
            ],
        },
        "type": "event_callback",
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": "T123ABC456",
                "user_id": "U0BOT0001",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "event_id": eid,
        "event_time": 1736500000,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMTIzQUJDNDU2In0",
        "is_ext_shared_channel": False,
    }


def slack_url_verification(
    challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
) -> dict[str, Any]:
    return {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"}


def github_push() -> dict[str, Any]:
    sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    commit = {
        "id": sha,
        "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": True,
        "message": "Fix chunker off-by-one\n\nCloses #12",
        "timestamp": "2025-01-10T10:00:00+01:00",
        "url": f"https://github.com/octo-org/sophia/commit/{sha}",
        "author": {"name": "Mona", "email": "mona@example.com", "username": "octocat"},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [],
        "removed": [],
        "modified": ["sophia_pipeline/processing/chunking/base.py"],
    }
    return {
        "ref": "refs/heads/main",
        "before": "0000000000000000000000000000000000000000",
        "after": sha,
        "repository": _REPOSITORY,
        "pusher": {"name": "octocat", "email": "mona@example.com"},
        "organization": {"login": "octo-org", "id": 6811672},
        "sender": _SENDER,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/octo-org/sophia/compare/000000000000...6dcb09b5b578",
        "commits": [commit],
        "head_commit": commit,
    }


def github_pull_request(action: str = "opened") -> dict[str, Any]:
    return {
        "action": action,
        "number": 42,
        "pull_request": {
            "url": "https://api.github.com/repos/octo-org/sophia/pulls/42",
            "id": 1850000042,
            "node_id": "PR_kwDOABCD4M5uQABC",
            "html_url": "https://github.com/octo-org/sophia/pull/42",
            "number": 42,
            "state": "open",
            "locked": False,
            "title": "Add webhook receiver",
            "user": _SENDER,
            "body": "Lands Slack and GitHub events durably.",
            "created_at": "2025-01-10T10:05:00Z",
            "updated_at": "2025-01-10T10:05:00Z",
            "closed_at": None,
            "merged_at": None,
            "draft": False,
            "head": {
                "label": "octocat:webhooks",
                "ref": "webhooks",
                "sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
            },
            "base": {
                "label": "octo-org:main",
                "ref": "main",
                "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
            },
            "merged": False,
            "comments": 0,
            "commits": 3,
            "additions": 420,
            "deletions": 7,
            "changed_files": 9,
        },
        "repository": _REPOSITORY,
        "sender": _SENDER,
    }


def github_issues(action: str = "opened") -> dict[str, Any]:
    return {
        "action": action,
        "issue": {
            "url": "https://api.github.com/repos/octo-org/sophia/issues/12",
            "id": 2700000012,
            "node_id": "I_kwDOABCD4M6kQxyz",
            "number": 12,
            "title": "Chunker drops the last speaker turn",
            "user": _SENDER,
            "labels": [{"id": 208045946, "name": "bug", "color": "f29513", "default": True}],
            "state": "open",
            "locked": False,
            "assignee": None,
            "assignees": [],
            "comments": 0,
            "created_at": "2025-01-10T09:30:00Z",
            "updated_at": "2025-01-10T09:30:00Z",
            "closed_at": None,
            "body": "Steps to reproduce: ...",
        },
        "repository": _REPOSITORY,
        "sender": _SENDER,
    }


def github_ping() -> dict[str, Any]:
    return {
        "zen": "Keep it logically awesome.",
        "hook_id": 109948940,
        "hook": {
            "type": "Repository",
            "id": 109948940,
            "name": "web",
            "active": True,
            "events": ["push", "pull_request", "issues"],
            "config": {
                "content_type": "json",
                "insecure_ssl": "0",
                "url": "https://example.com/webhooks/github",
            },
        },
        "repository": _REPOSITORY,
        "sender": _SENDER,
    }


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def slack_headers(
    body: bytes, *, secret: str = SLACK_SECRET, ts: int | None = None, retry_num: int | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if ts is None else ts
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": slack_signature(secret, str(stamp), body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def github_headers(
    body: bytes, event: str, *, delivery: str | None = None, secret: str = GITHUB_SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "109948940",
        "X-GitHub-Hook-Installation-Target-ID": "1296269",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-Hub-Signature-256": github_signature(secret, body),
    }
