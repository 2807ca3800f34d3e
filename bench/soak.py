"""Soak: the webhook receiver and the webhook sensors together, with faults injected.

For ``--minutes`` (default 10) it sends signed Slack events at a steady ``--rate`` to
the real receiver (started through the CLI, ``sophia-pipeline webhooks``, in its own
process), while this process ticks the Slack webhook sensor every few seconds and
executes the runs it requests (the raw and documents assets of the request, as the
daemon would launch them). Faults: the receiver is SIGKILLed and restarted twice, the
private redis-server is restarted once, and one requested run fails (its warehouse
file swapped for a directory) and is run again, as Dagster's run retries would.

A sender retries an event until it is acknowledged (2xx), like Slack does; about 5% of
the events are signed and valid JSON but lack their channel (the raw asset must
dead-letter them). At the end it drains the backlog and checks

    acknowledged (distinct ids) = landed = processed + dead-lettered

where landed is what the receiver's store counts (the count ``status`` reports from),
processed the raw Slack rows in the warehouse and dead-lettered the Slack dead letters.
Everything is on 127.0.0.1 in a temporary directory; bounded by ``--minutes`` and
``--max-events``.

    .venv/bin/python bench/soak.py                # the 10-minute soak
    .venv/bin/python bench/soak.py --minutes 3    # a shorter one
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SLACK_SECRET = "soak-slack-signing-secret"
CLI = "import sys; from sophia_pipeline.cli import main; sys.exit(main(sys.argv[1:]))"
BASE_TS = 1_736_500_000  # 2025-01-10: every message one second after the previous


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Counts:
    sent: int = 0  # HTTP attempts, retries included
    acked: set[str] = field(default_factory=set)
    refused: int = 0  # attempts answered with a non-2xx or no answer
    malformed: int = 0
    receiver_kills: int = 0
    redis_restarts: int = 0
    runs: int = 0
    runs_failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Receiver:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CLI, "webhooks", "--port", str(self.port), "--no-github"],
            env=self.env,
            stdout=out,
            stderr=out,
            cwd=REPO,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the receiver did not become ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server not found")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def sign(body: bytes, ts: int) -> dict[str, str]:
    from sophia_pipeline.webhooks.signatures import slack_signature

    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": slack_signature(SLACK_SECRET, str(ts), body),
    }


def event(n: int, malformed: bool) -> bytes:
    inner: dict[str, Any] = {
        "type": "message",
        "user": "U0SOAK",
        "text": f"soak message {n}",
        "ts": f"{BASE_TS + n}.000100",
        "event_ts": f"{BASE_TS + n}.000100",
        "channel": "C0SOAK",
        "channel_type": "channel",
    }
    if malformed:
        del inner["channel"], inner["ts"]
    payload = {
        "token": "x",
        "team_id": "T0SOAK",
        "api_app_id": "A0SOAK",
        "type": "event_callback",
        "event_id": f"EvSoak{n:06d}",
        "event_time": BASE_TS + n,
        "event": inner,
    }
    return json.dumps(payload).encode()


def deliver(url: str, n: int, malformed: bool, counts: Counts, stop_at: float) -> None:
    """One event until acknowledged (Slack retries unacknowledged events)."""
    body = event(n, malformed)
    delay = 0.2
    while time.monotonic() < stop_at:
        request = urllib.request.Request(
            url, data=body, headers=sign(body, int(time.time())), method="POST"
        )
        with counts.lock:
            counts.sent += 1
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                if 200 <= r.status < 300:
                    with counts.lock:
                        counts.acked.add(f"EvSoak{n:06d}")
                    return
        except (urllib.error.URLError, OSError):
            pass
        with counts.lock:
            counts.refused += 1
        time.sleep(delay)
        delay = min(delay * 2, 3.0)


def sender(url: str, rate: float, until: float, max_events: int, counts: Counts) -> None:
    n = 0
    next_at = time.monotonic()
    threads: list[threading.Thread] = []
    while time.monotonic() < until and n < max_events:
        malformed = n % 20 == 7
        if malformed:
            counts.malformed += 1
        # Retries outlive the sending period a little, like Slack's (bounded).
        t = threading.Thread(target=deliver, args=(url, n, malformed, counts, until + 60))
        t.start()
        threads.append(t)
        n += 1
        next_at += 1.0 / rate
        time.sleep(max(0.0, next_at - time.monotonic()))
    for t in threads:
        t.join()


class Processor:
    """The daemon's part, in this process: sensor ticks and the runs they request."""

    def __init__(self, counts: Counts) -> None:
        import dagster as dg

        from sophia_pipeline.definitions import defs
        from sophia_pipeline.defs.keys import documents_key, raw_key

        self.dg = dg
        self.defs = defs()
        self.instance = dg.DagsterInstance.get()
        self.cursor: str | None = None
        self.counts = counts
        self.selection = [raw_key("slack"), documents_key("slack")]
        self.fail_next = False

    def tick(self) -> None:
        from sophia_pipeline.defs.webhook_sensors import sensor_name

        sensor = self.defs.resolve_sensor_def(sensor_name("slack"))
        context = self.dg.build_sensor_context(
            cursor=self.cursor, instance=self.instance, definitions=self.defs
        )
        result = sensor(context)
        assert isinstance(result, self.dg.SensorResult)  # the webhook sensors return one
        for request in result.run_requests or []:
            ok = self.execute(request, fail=self.fail_next)
            self.fail_next = False
            if not ok:
                self.execute(request, fail=False)  # the run retry
        self.cursor = result.cursor or self.cursor

    def execute(self, request: Any, fail: bool) -> bool:
        from sophia_pipeline.settings import load_settings

        path = load_settings().duckdb_path
        moved = path.with_suffix(".moved")
        if fail and path.exists():
            path.rename(moved)
            path.mkdir()  # not a database: the run fails at its warehouse
        try:
            job = self.defs.resolve_implicit_global_asset_job_def()
            selection = [k for k in request.asset_selection if k in self.selection]
            result = job.execute_in_process(
                instance=self.instance,
                asset_selection=selection,
                tags=request.tags,
                raise_on_error=False,
            )
        finally:
            if fail and moved.exists():
                path.rmdir()
                moved.rename(path)
        self.counts.runs += 1
        if not result.success:
            self.counts.runs_failed += 1
        return bool(result.success)


def totals() -> dict[str, int]:
    from sophia_pipeline.cli.status import unprocessed_counts
    from sophia_pipeline.settings import load_settings
    from sophia_pipeline.sources.registry import raw_tables
    from sophia_pipeline.store import ops
    from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
    from sophia_pipeline.store.landing import open_landing

    settings = load_settings()
    wh = DuckDBWarehouse(path=str(settings.duckdb_path), raw_tables=raw_tables())
    wh.ensure_schema()
    processed = wh.count("raw.slack_messages")
    # Every day the dead letters could fall on (the events' and the window's).
    dead = sum(ops.dead_letter_counts(wh, "slack", date(2000, 1, 1), date(2100, 1, 1)).values())
    # Landed: the count `status` starts from (everything after no cursor).
    landed = open_landing(settings).count_after("slack", None)
    return {
        "landed": landed,
        "processed": processed,
        "dead_lettered": dead,
        "unprocessed": unprocessed_counts(settings, wh)["slack"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2.0, help="events per second")
    parser.add_argument("--max-events", type=int, default=5000)
    parser.add_argument("--tick-s", type=float, default=5.0)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="sophia-soak-"))
    redis = Redis(work)
    redis.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPHIA_", "DAGSTER_"))}
    env.update(
        SOPHIA_PROFILE="local",
        SOPHIA_DATA_DIR=str(work / "data"),
        DAGSTER_HOME=str(work / "home"),
        SOPHIA_DATA_START="2024-01-01",
        SLACK_SIGNING_SECRET=SLACK_SECRET,
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(REPO),
    )
    os.environ.update({k: env[k] for k in env if k.startswith(("SOPHIA_", "DAGSTER_", "SLACK_",
                                                                 "REDIS_", "HF_"))})  # fmt: skip
    (work / "home").mkdir(parents=True)
    shutil.copyfile(REPO / "dagster.yaml", work / "home" / "dagster.yaml")

    counts = Counts()
    receiver = Receiver(env, free_port(), work / "receiver.log")
    receiver.start()
    processor = Processor(counts)
    started = time.monotonic()
    duration = args.minutes * 60
    until = started + duration
    send = threading.Thread(
        target=sender,
        args=(f"{receiver.url}/webhooks/slack", args.rate, until, args.max_events, counts),
    )
    send.start()
    faults = {  # fraction of the run -> fault
        0.25: "kill_receiver",
        0.4: "fail_run",
        0.5: "restart_redis",
        0.7: "kill_receiver",
    }
    done: set[float] = set()
    try:
        while time.monotonic() < until:
            elapsed = (time.monotonic() - started) / duration
            for at, fault in faults.items():
                if elapsed >= at and at not in done:
                    done.add(at)
                    print(f"[soak] t={time.monotonic() - started:.0f}s fault: {fault}", flush=True)
                    if fault == "kill_receiver":
                        receiver.kill()
                        counts.receiver_kills += 1
                        time.sleep(1.0)
                        receiver.start()
                    elif fault == "restart_redis":
                        redis.stop()
                        time.sleep(2.0)
                        redis.start()
                        counts.redis_restarts += 1
                    elif fault == "fail_run":
                        processor.fail_next = True
            processor.tick()
            time.sleep(args.tick_s)
        send.join()
        drain_until = time.monotonic() + 180
        while time.monotonic() < drain_until:
            processor.tick()
            if totals()["unprocessed"] == 0:
                break
            time.sleep(1.0)
    finally:
        receiver.stop()
        redis.stop()

    final = totals()
    elapsed_s = time.monotonic() - started
    report = {
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "elapsed_s": round(elapsed_s, 1),
        "sent_attempts": counts.sent,
        "acknowledged": len(counts.acked),
        "not_acknowledged_attempts": counts.refused,
        "malformed_sent": counts.malformed,
        **final,
        "receiver_kills": counts.receiver_kills,
        "redis_restarts": counts.redis_restarts,
        "runs": counts.runs,
        "runs_failed": counts.runs_failed,
        "workdir": str(work),
    }
    ok = (
        len(counts.acked) == final["landed"] == final["processed"] + final["dead_lettered"]
        and final["unprocessed"] == 0
        and counts.runs_failed == 1
    )
    report["invariant_holds"] = ok
    if ok:
        shutil.rmtree(work, ignore_errors=True)  # kept only when there is something to see
        report["workdir"] = "(removed)"
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
