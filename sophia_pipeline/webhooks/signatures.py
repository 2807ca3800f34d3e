"""Slack and GitHub webhook signature verification: pure functions, no I/O.

Both schemes are HMAC-SHA256 over the *raw* request body (never re-serialised JSON,
whose bytes would differ). Every verifier returns a :class:`Verdict` instead of
raising, and is total: any ``str``/``bytes``/``None`` input, however malformed, yields
a verdict. The app relies on that to guarantee that no header can turn into a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from enum import StrEnum

SLACK_VERSION = "v0"
SLACK_TIMESTAMP_TOLERANCE_S = 300
GITHUB_PREFIX = "sha256="

# A digest is 64 hex chars; anything much longer is not worth hashing or comparing.
_MAX_SIGNATURE_CHARS = 128
# Slack sends 10-digit Unix seconds; the cap keeps int() and float maths trivially cheap.
_MAX_TIMESTAMP_DIGITS = 15


class Verdict(StrEnum):
    OK = "ok"
    MISSING_SIGNATURE = "missing_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    BAD_SIGNATURE = "bad_signature"
    MISSING_TIMESTAMP = "missing_timestamp"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    NO_SECRET = "no_secret"

    @property
    def ok(self) -> bool:
        return self is Verdict.OK


def _as_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    # os.environ smuggles undecodable bytes in as lone surrogates (surrogateescape);
    # round-trip them to the original bytes, and never fail on any other surrogate.
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _hmac_hex(secret: str | bytes, message: bytes) -> str:
    return hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def slack_signature(secret: str | bytes, timestamp: str | bytes | int, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack would send for this timestamp and body."""
    ts = str(timestamp).encode("ascii") if isinstance(timestamp, int) else _as_bytes(timestamp)
    base = SLACK_VERSION.encode() + b":" + ts + b":" + body
    return f"{SLACK_VERSION}=" + _hmac_hex(secret, base)


def github_signature(secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for this body."""
    return GITHUB_PREFIX + _hmac_hex(secret, body)


def _parse_timestamp(raw: str | bytes) -> int | None:
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    # str.isdigit() also accepts non-ASCII digits and int() accepts "_", signs and
    # padding; the signed base string uses the raw header, so be exactly as strict.
    if not text or len(text) > _MAX_TIMESTAMP_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _signature_matches(expected: str, provided: bytes) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), provided)


def verify_slack(
    secret: str | bytes | None,
    timestamp: str | bytes | None,
    signature: str | bytes | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = SLACK_TIMESTAMP_TOLERANCE_S,
) -> Verdict:
    """Check a Slack request's ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``.

    ``now`` defaults to the wall clock; the timestamp must lie within ``tolerance_s``
    of it in either direction (replay protection; Slack's documented window is 5 min).
    """
    if not secret:
        return Verdict.NO_SECRET
    if signature is None or len(signature) == 0:
        return Verdict.MISSING_SIGNATURE
    sig = _as_bytes(signature)
    if len(sig) > _MAX_SIGNATURE_CHARS or not sig.startswith(b"v0="):
        return Verdict.MALFORMED_SIGNATURE
    if timestamp is None or len(timestamp) == 0:
        return Verdict.MISSING_TIMESTAMP
    ts = _parse_timestamp(timestamp)
    if ts is None:
        return Verdict.MALFORMED_TIMESTAMP
    current = time.time() if now is None else now
    if not math.isfinite(current) or abs(current - ts) > tolerance_s:
        return Verdict.STALE_TIMESTAMP
    expected = slack_signature(secret, timestamp, body)
    return Verdict.OK if _signature_matches(expected, sig) else Verdict.BAD_SIGNATURE


def verify_github(
    secret: str | bytes | None,
    signature: str | bytes | None,
    body: bytes,
) -> Verdict:
    """Check a GitHub request's ``X-Hub-Signature-256``.

    GitHub signs no timestamp, so there is no replay window here: replay protection
    is de-duplication on the ``X-GitHub-Delivery`` GUID, done by the landing store.
    """
    if not secret:
        return Verdict.NO_SECRET
    if signature is None or len(signature) == 0:
        return Verdict.MISSING_SIGNATURE
    sig = _as_bytes(signature)
    if len(sig) > _MAX_SIGNATURE_CHARS or not sig.startswith(GITHUB_PREFIX.encode()):
        return Verdict.MALFORMED_SIGNATURE
    expected = github_signature(secret, body)
    return Verdict.OK if _signature_matches(expected, sig) else Verdict.BAD_SIGNATURE
