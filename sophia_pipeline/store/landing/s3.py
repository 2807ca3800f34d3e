"""The landing store for many receivers: S3-compatible object storage.

Layout under ``s3://<bucket>/<prefix>/``::

    <source>/batches/<t0 ms, 13 digits>-<writer>-<n>-<count>.jsonl   one group commit
    <source>/ids/<sha256 of the event id>/<generation>              one claim per event

A group commit (one per writer-thread batch in each receiver process) does:

1. **claim** each event: ``PUT ids/<h>/0000`` with ``If-None-Match: *`` and the batch key
   it will be in as the body (in parallel). Exactly one replica wins an id; S3 and
   SeaweedFS answer the others 412. A loser looks at the winner's batch: if it exists the
   event is landed (answer: duplicate); if not, the winner is still writing (answer:
   retry later) or died before writing it (its ``t0`` is older than the lag window: the
   loser claims the next generation, ``0001``, with the same conditional PUT);
2. **write** one object per source holding the events it won, then return. The 2xx
   goes out only after this PUT, so an acknowledged event is in an object that exists.
   A claim is always written before its batch, so a batch never holds a loser.

The sensors list ``batches/`` in key order, which is time order, and read only keys
whose ``t0`` is older than the lag window: a writer gives up (no batch, the request
gets a 503) when its batch PUT could finish later than ``t0 + lag``, so no object ever
appears behind a cursor that already passed its key. The lag window must exceed the
clock skew between receivers and sensors plus the longest PUT (timeouts are derived
from it). Per event the receiver makes one small conditional PUT (the only atomic
primitive S3 offers for dedup across replicas); the payloads travel in one PUT per
group, so object count and request cost grow with group commits, not with events.

A cursor is ``<source>:<batch file>:<events consumed in it>``. Pruning deletes
consumed batches older than the retention window, then claims older than both the
window and the consumed batch (a claim is written within the lag window of its batch's
``t0``), so dedup holds for the whole retention window.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import (
    LandedEvent,
    LandingError,
    NewEvent,
    RetryLaterError,
    check_limit,
    check_source,
    decode_record,
)

DEFAULT_LAG_S = 30.0
_BATCH_RE = re.compile(r"^(\d{13})-([0-9a-f]{1,32})-(\d{10})-(\d{1,9})\.jsonl$")
_CLAIM_ATTEMPTS = 3
_CACHE_OBJECTS = 8


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending with "/"


def parse_s3_url(url: str) -> S3Location:
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    prefix = parsed.path.strip("/")
    return S3Location(parsed.netloc, f"{prefix}/" if prefix else "")


@dataclass(frozen=True, slots=True)
class _BatchName:
    t0_ms: int
    name: str
    count: int


def _parse_batch(name: str) -> _BatchName | None:
    m = _BATCH_RE.match(name)
    return _BatchName(int(m.group(1)), name, int(m.group(4))) if m else None


def _is_412(exc: ClientError) -> bool:
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 412 or err.get("Code") in {"PreconditionFailed", "412"}


def _is_missing(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}


def make_client(
    *,
    endpoint_url: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None,
    region: str | None,
    lag_s: float,
) -> Any:
    """A boto3 S3 client whose timeouts keep one attempt well inside the lag window."""
    timeout = max(1.0, min(10.0, lag_s / 6))
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 1, "mode": "standard"},
        max_pool_connections=64,
        # A custom endpoint (SeaweedFS, MinIO) rarely has per-bucket DNS names.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region or "us-east-1",
        config=config,
    )


class S3Landing:
    """Events in an S3 bucket shared by any number of receivers; see the module docstring."""

    def __init__(
        self,
        url: str,
        client: Any,
        *,
        lag_s: float = DEFAULT_LAG_S,
        clock: Callable[[], float] = time.time,
        claim_workers: int = 32,
    ) -> None:
        if lag_s <= 0:
            raise ValueError("the lag window must be positive")
        self.url = url
        self._where = parse_s3_url(url)
        self._s3 = client
        self.lag_s = lag_s
        self._clock = clock
        self._writer = uuid.uuid4().hex[:12]
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(claim_workers, thread_name_prefix="landing-claim")
        self._cache: OrderedDict[str, list[bytes]] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def location(self) -> str:
        return self.url

    # ---- keys ----------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self._where.prefix + "/".join(parts)

    def _batches_prefix(self, source: str) -> str:
        return self._key(source, "batches", "")

    def _claims_prefix(self, source: str, event_id: str) -> str:
        digest = hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()
        return self._key(source, "ids", digest, "")

    def _new_batch_name(self, t0_ms: int, count: int) -> str:
        with self._counter_lock:
            self._counter += 1
            n = self._counter
        return f"{t0_ms:013d}-{self._writer}-{n:010d}-{count}.jsonl"

    # ---- writes --------------------------------------------------------------------

    def land(self, group: Sequence[NewEvent]) -> list[bool | LandingError]:
        for e in group:
            check_source(e.source)
        t0 = self._clock()
        t0_ms = int(t0 * 1000)
        deadline = t0 + self.lag_s / 3
        # One batch object per source; its name is fixed before the claims name it.
        by_source: dict[str, list[int]] = {}
        first_of: dict[tuple[str, str], int] = {}
        for i, e in enumerate(group):
            if (e.source, e.event_id) not in first_of:
                first_of[(e.source, e.event_id)] = i
                by_source.setdefault(e.source, []).append(i)
        # The count in the name is a ceiling until the claims are known: the name is
        # chosen after them, and the claims carry a name with this writer, t0 and number.
        names = {s: self._new_batch_name(t0_ms, 0) for s in by_source}
        results: list[bool | LandingError | None] = [None] * len(group)
        futures = {
            i: self._pool.submit(self._claim, group[i], names[group[i].source], t0_ms)
            for idxs in by_source.values()
            for i in idxs
        }
        for i, fut in futures.items():
            try:
                results[i] = fut.result()  # True: won, False: landed before
            except LandingError as exc:
                results[i] = exc
            except Exception as exc:  # a bug or an SDK surprise: never acknowledge
                results[i] = LandingError(f"claim failed: {exc}")
        for source, idxs in by_source.items():
            won = [i for i in idxs if results[i] is True]
            if not won:
                continue
            if self._clock() > deadline:
                late = LandingError("landing took longer than the lag window allows; retry")
                for i in won:
                    results[i] = late
                continue
            body = "".join(group[i].record + "\n" for i in won).encode("ascii")
            try:
                self._s3.put_object(
                    Bucket=self._where.bucket,
                    Key=self._batches_prefix(source) + _with_count(names[source], len(won)),
                    Body=body,
                    ContentType="application/x-ndjson",
                )
            except (ClientError, BotoCoreError) as exc:
                failed = LandingError(f"could not write the {source} batch: {exc}")
                for i in won:
                    results[i] = failed
        for i, e in enumerate(group):
            if results[i] is None:  # a repeat of an id earlier in this very group
                first = results[first_of[(e.source, e.event_id)]]
                results[i] = False if first is True or first is False else first
        return [r if r is not None else LandingError("not landed") for r in results]

    def _claim(self, event: NewEvent, batch_name: str, t0_ms: int) -> bool:
        """True when this writer now owns the event; False when it is already landed;
        RetryLaterError while another writer is landing it."""
        prefix = self._claims_prefix(event.source, event.event_id)
        generation = 0
        for _ in range(_CLAIM_ATTEMPTS):
            body = json.dumps({"batch": batch_name, "t0_ms": t0_ms, "id": event.event_id})
            try:
                self._s3.put_object(
                    Bucket=self._where.bucket,
                    Key=f"{prefix}{generation:04d}",
                    Body=body.encode("ascii"),
                    IfNoneMatch="*",
                )
                return True
            except ClientError as exc:
                if not _is_412(exc):
                    raise LandingError(f"could not claim {event.event_id}: {exc}") from exc
            except BotoCoreError as exc:
                raise LandingError(f"could not claim {event.event_id}: {exc}") from exc
            latest, holder = self._latest_claim(prefix)
            if self._batch_exists(event.source, holder["batch"]):
                return False
            if self._clock() * 1000 - int(holder["t0_ms"]) < self.lag_s * 1000:
                raise RetryLaterError(f"{event.event_id} is being landed by another receiver")
            generation = latest + 1  # its writer gave up or died: take the next generation
        raise RetryLaterError(f"{event.event_id}: claims keep moving; retry")

    def _latest_claim(self, prefix: str) -> tuple[int, dict[str, Any]]:
        gens = sorted(
            int(k.rsplit("/", 1)[1])
            for k in self._list_keys(prefix)
            if k.rsplit("/", 1)[1].isdigit()
        )
        if not gens:
            raise RetryLaterError("claim vanished while reading it (pruned?); retry")
        latest = gens[-1]
        obj = self._s3.get_object(Bucket=self._where.bucket, Key=f"{prefix}{latest:04d}")
        return latest, json.loads(obj["Body"].read())

    def _batch_exists(self, source: str, claimed_name: str) -> bool:
        # The claim names the batch before its count is known: match on everything else.
        stem = claimed_name.rsplit("-", 1)[0] + "-"
        return any(True for _ in self._list_keys(self._batches_prefix(source) + stem))

    def prune(self, source: str, consumed: str, older_than: datetime) -> int:
        check_source(source)
        name, taken = decode_cursor(source, consumed)
        parsed = _parse_batch(name)
        assert parsed is not None
        cutoff_ms = int(older_than.timestamp() * 1000)
        doomed: list[str] = []
        prefix = self._batches_prefix(source)
        for key in self._list_keys(prefix):
            b = _parse_batch(key[len(prefix) :])
            if b is None or b.name > name or b.t0_ms >= cutoff_ms:
                continue
            if b.name == name and taken < b.count:
                continue  # partly consumed
            doomed.append(key)
        # A claim is written after its batch's t0 was chosen (clocks agreeing within the
        # lag window), so one older than both cutoffs minus that window belongs to a batch
        # pruned here or before. Later ones stay until a later prune; a claim whose batch
        # is gone is taken over once older than the lag window (the retention window
        # is the dedup window).
        claim_cutoff = (min(cutoff_ms, parsed.t0_ms) - int(self.lag_s * 1000)) / 1000
        for obj in self._list_objects(self._key(source, "ids", "")):
            if obj["LastModified"].timestamp() < claim_cutoff:
                doomed.append(obj["Key"])
        for start in range(0, len(doomed), 1000):
            chunk = doomed[start : start + 1000]
            self._s3.delete_objects(
                Bucket=self._where.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
        return len(doomed)

    def probe_writable(self) -> bool:
        try:
            self._s3.put_object(
                Bucket=self._where.bucket, Key=self._key(".probe", self._writer), Body=b"ok"
            )
            return True
        except (ClientError, BotoCoreError):
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # ---- reads ---------------------------------------------------------------------

    def _list_objects(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"Bucket": self._where.bucket, "Prefix": prefix}
        if start_after is not None:
            kwargs["StartAfter"] = start_after
        while True:
            page = self._s3.list_objects_v2(**kwargs)
            yield from page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            kwargs.pop("StartAfter", None)
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def _list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        return (o["Key"] for o in self._list_objects(prefix, start_after))

    def _batches_after(self, source: str, name: str | None, settled: bool) -> Iterator[_BatchName]:
        """Batch names after ``name`` in key (= time) order; with ``settled`` only those
        older than the lag window, stopping at the first younger one."""
        prefix = self._batches_prefix(source)
        horizon_ms = (self._clock() - self.lag_s) * 1000
        for key in self._list_keys(prefix, prefix + name if name else None):
            b = _parse_batch(key[len(prefix) :])
            if b is None:
                continue
            if settled and b.t0_ms >= horizon_ms:
                return
            yield b

    def _lines(self, source: str, name: str) -> list[bytes]:
        key = self._batches_prefix(source) + name
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            body = self._s3.get_object(Bucket=self._where.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _is_missing(exc):
                return []  # pruned since it was listed
            raise
        lines = body.splitlines()
        with self._cache_lock:  # batches never change once written: safe to keep
            self._cache[key] = lines
            while len(self._cache) > _CACHE_OBJECTS:
                self._cache.popitem(last=False)
        return lines

    def read_after(
        self, source: str, cursor: str | None, limit: int = 1000
    ) -> tuple[list[LandedEvent], str | None]:
        check_source(source)
        check_limit(limit)
        start = decode_cursor(source, cursor) if cursor is not None else None
        events: list[LandedEvent] = []
        new_cursor = cursor

        def take(b: _BatchName, skip: int) -> bool:
            nonlocal new_cursor
            where = f"s3://{self._where.bucket}/{self._batches_prefix(source)}{b.name}"
            for n, line in enumerate(self._lines(source, b.name), start=1):
                if n <= skip:
                    continue
                new_cursor = encode_cursor(source, b.name, n)
                event = decode_record(source, line, new_cursor, where, n)
                if event is not None:
                    events.append(event)
                    if len(events) >= limit:
                        return False
            return True

        if start is not None:
            current = _parse_batch(start[0])
            if current is not None and start[1] < current.count and not take(current, start[1]):
                return events, new_cursor
        for b in self._batches_after(source, start[0] if start else None, settled=True):
            if not take(b, 0):
                break
        return events, new_cursor

    def count_after(self, source: str, cursor: str | None) -> int:
        check_source(source)
        start = decode_cursor(source, cursor) if cursor is not None else None
        total = 0
        if start is not None:
            current = _parse_batch(start[0])
            if current is not None:
                total += max(0, current.count - start[1])
        return total + sum(
            b.count for b in self._batches_after(source, start[0] if start else None, False)
        )

    def sources(self) -> list[str]:
        page = self._s3.list_objects_v2(
            Bucket=self._where.bucket, Prefix=self._where.prefix, Delimiter="/"
        )
        names = [
            p["Prefix"][len(self._where.prefix) :].rstrip("/")
            for p in page.get("CommonPrefixes", [])
        ]
        return sorted(n for n in names if n and not n.startswith("."))


def _with_count(name: str, count: int) -> str:
    return f"{name.rsplit('-', 1)[0]}-{count}.jsonl"


def encode_cursor(source: str, name: str, taken: int) -> str:
    return f"{source}:{name}:{taken}"


def decode_cursor(source: str, cursor: str) -> tuple[str, int]:
    parts = cursor.split(":")
    if len(parts) != 3 or _parse_batch(parts[1]) is None or not parts[2].isdigit():
        raise ValueError(f"not an object-storage landing cursor: {cursor!r}")
    if parts[0] != source:
        raise ValueError(f"cursor {cursor!r} belongs to source {parts[0]!r}, not {source!r}")
    return parts[1], int(parts[2])
