"""Issue 12, acceptance 1: two receivers share one bucket on a real SeaweedFS server.

10,000 signed events (half Slack messages, half GitHub issues, each its own document)
plus 5% re-deliveries go to either receiver at random; receiver A is SIGKILLed midway
and restarted. A sender retries whatever it did not see answered 2xx, as Slack and
GitHub do. Then:

- every event is landed exactly once (and every id answered 2xx is landed);
- no id was answered "landed" (``duplicate: false``) twice;
- the sensors, evaluated as in ``test_sensors.py``, cut the landed events into batches
  that cover every event exactly once;
- bounded document check: executing every run would take the 2-core test machine far
  too long (each run embeds its batch), so the first batch of each source is executed
  as the daemon would launch it, and its documents are compared with its events one by
  one (ids, text, count). The other batches are checked up to the run (their events,
  read back as the run would read them).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from sophia_pipeline.definitions import defs
from sophia_pipeline.settings import load_settings
from sophia_pipeline.store.landing import open_landing
from sophia_pipeline.webhooks.batches import WebhookBatch, read_batch
from sophia_pipeline_tests.conftest import free_port
from sophia_pipeline_tests.webhooks.payloads import (
    encode,
    github_headers,
    github_issues,
    slack_headers,
    slack_message_event,
)
from sophia_pipeline_tests.webhooks.seaweedfs import S3Server, stop
from sophia_pipeline_tests.webhooks.test_crash import Target, start_receiver, wait_ready
from sophia_pipeline_tests.webhooks.test_sensors import execute, tick, warehouse

pytestmark = pytest.mark.slow

EVENTS = 10_000
REDELIVERIES = EVENTS // 20
CONCURRENCY = 16
KILL_AFTER_ACKS = EVENTS // 2
# Writers give up after a third of it: long enough for this loaded machine.
LAG_S = 15.0
BATCH_EVENTS = 500
BASE_TS = 1736500000  # 2025-01-10


def _event(i: int) -> tuple[str, str, bytes, str]:
    """(source, event id, body, GitHub event) of event ``i``: its own document."""
    if i % 2:
        ts = f"{BASE_TS + i}.000100"
        payload = slack_message_event(f"Ev{i:06d}", f"message number {i}")
        payload["event"]["ts"] = payload["event"]["event_ts"] = ts
        return "slack", f"Ev{i:06d}", encode(payload), ""
    payload = github_issues()
    payload["issue"].update(number=100_000 + i, id=2_700_000_000 + i, title=f"issue number {i}")
    payload["issue"]["url"] = f"https://api.github.com/repos/octo-org/sophia/issues/{100_000 + i}"
    return "github", f"00000000-0000-4000-8000-{i:012d}", encode(payload), "issues"


def _headers(source: str, event_id: str, body: bytes, gh_event: str) -> dict[str, str]:
    if source == "slack":
        return slack_headers(body)
    return github_headers(body, gh_event, delivery=event_id)


async def _deliver(
    ports: list[int], plan: list[int], on_kill: Any, rng: random.Random
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]], int]:
    """Sends every planned delivery until one receiver answers it 2xx. Returns the
    (landed-now answers, duplicate answers) per id and how many attempts failed."""
    new: Counter[tuple[str, str]] = Counter()
    dup: Counter[tuple[str, str]] = Counter()
    failures = 0
    todo = list(reversed(plan))
    killed = False
    clients = {
        p: [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=30, verify=False)
            for _ in range(CONCURRENCY)
        ]
        for p in ports
    }

    async def worker(w: int) -> None:
        nonlocal failures, killed
        while todo:
            source, event_id, body, gh_event = _event(todo.pop())
            for _attempt in range(200):
                port = rng.choice(ports)
                try:
                    r = await clients[port][w].post(
                        f"/webhooks/{source}",
                        content=body,
                        headers=_headers(source, event_id, body, gh_event),
                    )
                except httpx.TransportError:
                    r = None
                if r is not None and 200 <= r.status_code < 300:
                    (dup if r.json()["duplicate"] else new)[(source, event_id)] += 1
                    break
                failures += 1
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{source} {event_id} never acknowledged")
            if not killed and sum(new.values()) >= KILL_AFTER_ACKS:
                killed = True
                on_kill()  # other workers have requests in flight at both receivers

    try:
        await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
    finally:
        for group in clients.values():
            for c in group:
                await c.aclose()
    return new, dup, failures


def test_two_receivers_one_bucket_kill_one_every_event_lands_once(
    tmp_path: Path, s3_server: S3Server, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"s3://{s3_server.bucket}/accept-{uuid.uuid4().hex}"
    env = {**s3_server.env(), "SOPHIA_LANDING_URL": url, "SOPHIA_LANDING_LAG_S": str(LAG_S)}
    target = Target([], env, lambda: open_landing(load_settings(env)))
    port_a, port_b = free_port(), free_port()
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    procs = {"a": start_receiver(target, port_a, log_a), "b": start_receiver(target, port_b, log_b)}
    killed: list[int] = []

    def kill_and_restart() -> None:
        procs["a"].send_signal(signal.SIGKILL)
        killed.append(procs["a"].wait(timeout=30))
        # Back on the same port; until it is up, its requests fail and are retried.
        procs["a"] = start_receiver(target, port_a, log_a)

    rng = random.Random(12)
    plan = list(range(EVENTS)) + rng.choices(range(EVENTS), k=REDELIVERIES)
    rng.shuffle(plan)
    try:
        wait_ready(procs["a"], port_a, log_a)
        wait_ready(procs["b"], port_b, log_b)
        new, dup, failures = asyncio.run(_deliver([port_a, port_b], plan, kill_and_restart, rng))
        wait_ready(procs["a"], port_a, log_a)  # the restarted receiver came up
    finally:
        for p in procs.values():
            stop(p, grace_s=30)
    assert killed == [-signal.SIGKILL]
    every = {_event(i)[:2] for i in range(EVENTS)}
    assert set(new) | set(dup) == every  # each id was answered 2xx at least once
    assert max(new.values()) == 1  # never answered "landed" twice
    assert sum(dup.values()) >= REDELIVERIES - (EVENTS - len(new))
    print(f"{failures} failed attempts (kill window, retries), {len(new)} landed answers")

    # Past the lag window, as the sensors read.
    time.sleep(LAG_S + 1)
    reader = open_landing(load_settings(env))
    landed: Counter[tuple[str, str]] = Counter()
    for source in ("slack", "github"):
        cursor = None
        while True:
            events, cursor = reader.read_after(source, cursor, 1000)
            if not events:
                break
            landed.update((source, e.id) for e in events)
    assert set(landed) == every and max(landed.values()) == 1

    # The sensors: batches over every event exactly once.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SOPHIA_WEBHOOK_BATCH_EVENTS", str(BATCH_EVENTS))
    monkeypatch.setenv("SOPHIA_WEBHOOK_BATCHES_PER_TICK", "100")
    d, instance = defs(), dg.DagsterInstance.ephemeral()
    first_requests: dict[str, dg.RunRequest] = {}
    for source in ("slack", "github"):
        cursor = None
        covered: Counter[str] = Counter()
        while True:
            result = tick(d, instance, source, cursor)
            if not result.run_requests:
                break
            for request in result.run_requests:
                batch = WebhookBatch.from_tags(request.tags, source)
                assert batch is not None
                first_requests.setdefault(source, request)
                ids = [e.id for e in read_batch(reader, batch)]
                assert len(ids) == batch.size
                covered.update(ids)
            cursor = result.cursor
        assert set(covered) == {i for s, i in every if s == source}
        assert max(covered.values()) == 1

    # Bounded: the first batch of each source runs, and its documents match its events.
    wh = warehouse()
    for source, request in first_requests.items():
        execute(d, instance, request)
        batch = WebhookBatch.from_tags(request.tags, source)
        assert batch is not None
        events = read_batch(reader, batch)
        docs = wh.query(
            "SELECT doc_id, text FROM staging.documents WHERE source = ?", [source]
        ).to_dict("records")
        by_id = {d["doc_id"]: d["text"] for d in docs}
        if source == "slack":
            expected = {
                f"slack:thread:C123ABC456-{e.payload['event']['ts']}": e.payload["event"]["text"]
                for e in events
            }
        else:
            expected = {
                f"github:issue:octo-org/sophia/issues/{e.payload['issue']['number']}": e.payload[
                    "issue"
                ]["title"]
                for e in events
            }
        assert set(by_id) == set(expected)
        assert all(text in by_id[doc_id] for doc_id, text in expected.items())
