"""Slack and GitHub signature schemes against published vectors and edge cases."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from sophia_pipeline.webhooks.signatures import (
    Verdict,
    github_signature,
    slack_signature,
    verify_github,
    verify_slack,
)

GITHUB_VECTOR_SECRET = "It's a Secret to Everybody"
GITHUB_VECTOR_BODY = b"Hello, World!"
GITHUB_VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# Slack's example from "Verifying requests from Slack" (a slash-command body).
SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TIMESTAMP = "1531420618"
SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
    b"%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_DOC_NOW = 1531420618.0 + 12


def test_github_published_vector() -> None:
    assert github_signature(GITHUB_VECTOR_SECRET, GITHUB_VECTOR_BODY) == GITHUB_VECTOR_SIGNATURE
    assert verify_github(GITHUB_VECTOR_SECRET, GITHUB_VECTOR_SIGNATURE, GITHUB_VECTOR_BODY).ok


def test_github_accepts_bytes_inputs() -> None:
    sig = GITHUB_VECTOR_SIGNATURE.encode()
    assert verify_github(GITHUB_VECTOR_SECRET.encode(), sig, GITHUB_VECTOR_BODY) is Verdict.OK


@pytest.mark.parametrize(
    ("signature", "body", "secret", "verdict"),
    [
        (None, GITHUB_VECTOR_BODY, GITHUB_VECTOR_SECRET, Verdict.MISSING_SIGNATURE),
        ("", GITHUB_VECTOR_BODY, GITHUB_VECTOR_SECRET, Verdict.MISSING_SIGNATURE),
        (
            GITHUB_VECTOR_SIGNATURE[7:],
            GITHUB_VECTOR_BODY,
            GITHUB_VECTOR_SECRET,
            Verdict.MALFORMED_SIGNATURE,
        ),
        ("sha1=" + "0" * 40, GITHUB_VECTOR_BODY, GITHUB_VECTOR_SECRET, Verdict.MALFORMED_SIGNATURE),
        (
            GITHUB_VECTOR_SIGNATURE + "0" * 200,
            GITHUB_VECTOR_BODY,
            GITHUB_VECTOR_SECRET,
            Verdict.MALFORMED_SIGNATURE,
        ),
        (
            GITHUB_VECTOR_SIGNATURE.upper().replace("SHA256=", "sha256="),
            GITHUB_VECTOR_BODY,
            GITHUB_VECTOR_SECRET,
            Verdict.BAD_SIGNATURE,
        ),
        (GITHUB_VECTOR_SIGNATURE, b"Hello, World?", GITHUB_VECTOR_SECRET, Verdict.BAD_SIGNATURE),
        (GITHUB_VECTOR_SIGNATURE, GITHUB_VECTOR_BODY, "another secret", Verdict.BAD_SIGNATURE),
        (GITHUB_VECTOR_SIGNATURE, GITHUB_VECTOR_BODY, "", Verdict.NO_SECRET),
        (GITHUB_VECTOR_SIGNATURE, GITHUB_VECTOR_BODY, None, Verdict.NO_SECRET),
    ],
)
def test_github_rejections(
    signature: str | None, body: bytes, secret: str | None, verdict: Verdict
) -> None:
    assert verify_github(secret, signature, body) is verdict


def test_slack_published_vector() -> None:
    assert (
        slack_signature(SLACK_DOC_SECRET, SLACK_DOC_TIMESTAMP, SLACK_DOC_BODY)
        == SLACK_DOC_SIGNATURE
    )
    verdict = verify_slack(
        SLACK_DOC_SECRET,
        SLACK_DOC_TIMESTAMP,
        SLACK_DOC_SIGNATURE,
        SLACK_DOC_BODY,
        now=SLACK_DOC_NOW,
    )
    assert verdict is Verdict.OK


def test_slack_scheme_from_its_definition() -> None:
    body = b'{"type":"event_callback","event_id":"Ev1"}'
    expected = "v0=" + hmac.new(b"secret", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert slack_signature("secret", 1700000000, body) == expected
    assert slack_signature("secret", "1700000000", body) == expected
    assert verify_slack("secret", "1700000000", expected, body, now=1700000000).ok


@pytest.mark.parametrize("skew", [-300, -1, 0, 1, 300])
def test_slack_window_edges_accepted(skew: int) -> None:
    ts = "1700000000"
    sig = slack_signature("s", ts, b"{}")
    assert verify_slack("s", ts, sig, b"{}", now=1700000000 + skew) is Verdict.OK


@pytest.mark.parametrize("skew", [-301, 301, -86400, 86400])
def test_slack_stale_either_direction(skew: int) -> None:
    ts = "1700000000"
    sig = slack_signature("s", ts, b"{}")
    assert verify_slack("s", ts, sig, b"{}", now=1700000000 + skew) is Verdict.STALE_TIMESTAMP


@pytest.mark.parametrize(
    ("timestamp", "verdict"),
    [
        (None, Verdict.MISSING_TIMESTAMP),
        ("", Verdict.MISSING_TIMESTAMP),
        ("17e8", Verdict.MALFORMED_TIMESTAMP),
        (" 1700000000", Verdict.MALFORMED_TIMESTAMP),
        ("-1700000000", Verdict.MALFORMED_TIMESTAMP),
        ("1_700_000_000", Verdict.MALFORMED_TIMESTAMP),
        ("١٧٠٠٠٠٠٠٠٠", Verdict.MALFORMED_TIMESTAMP),  # Arabic-Indic digits: isdigit() but not ASCII
        ("9" * 5000, Verdict.MALFORMED_TIMESTAMP),
        ("1700000000.5", Verdict.MALFORMED_TIMESTAMP),
    ],
)
def test_slack_bad_timestamps(timestamp: str | None, verdict: Verdict) -> None:
    sig = slack_signature("s", "1700000000", b"{}")
    assert verify_slack("s", timestamp, sig, b"{}", now=1700000000) is verdict


def test_slack_signature_bound_to_timestamp_and_body() -> None:
    sig = slack_signature("s", "1700000000", b'{"a":1}')
    assert verify_slack("s", "1700000001", sig, b'{"a":1}', now=1700000000) is Verdict.BAD_SIGNATURE
    assert (
        verify_slack("s", "1700000000", sig, b'{"a": 1}', now=1700000000) is Verdict.BAD_SIGNATURE
    )
    assert verify_slack("s", "1700000000", "v1=" + sig[3:], b'{"a":1}', now=1700000000) is (
        Verdict.MALFORMED_SIGNATURE
    )
    assert verify_slack("s", "1700000000", None, b"", now=1700000000) is Verdict.MISSING_SIGNATURE
    assert verify_slack("", "1700000000", sig, b"", now=1700000000) is Verdict.NO_SECRET


def test_secret_with_undecodable_environment_bytes() -> None:
    # os.environ represents a secret's invalid UTF-8 as lone surrogates (surrogateescape).
    raw_secret = b"s\xffecret"
    env_style = raw_secret.decode("utf-8", "surrogateescape")
    sig = github_signature(raw_secret, b"{}")
    assert verify_github(env_style, sig, b"{}") is Verdict.OK


def test_non_finite_clock_is_stale_not_a_crash() -> None:
    sig = slack_signature("s", "1700000000", b"{}")
    assert verify_slack("s", "1700000000", sig, b"{}", now=float("nan")) is Verdict.STALE_TIMESTAMP
