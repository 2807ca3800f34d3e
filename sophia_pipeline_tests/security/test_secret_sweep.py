"""Every credential ``Settings`` knows gets a distinctive value; then the production
readers materialize against local fake vendors that fail and echo what they were sent,
the CLI prints ``status --json`` and runs a failing run, and the webhook receiver is
sent bad requests. Every log line, the event log, run metadata, the stored run config,
error messages, console output and every file the run left behind is searched for
every value."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from werkzeug import Request, Response

from sophia_pipeline.defs.assets.sources import reader_key, source_assets
from sophia_pipeline.defs.resources import prod_readers
from sophia_pipeline.settings import Settings, _variables, load_settings
from sophia_pipeline.sources.registry import SPECS, raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.webhooks.signatures import slack_signature
from sophia_pipeline_tests.factories import small_gong_landing
from sophia_pipeline_tests.reliability.fault_server import FaultServer
from sophia_pipeline_tests.reliability_wiring.test_source_faults import FakeHubSpot

DAY = date(2026, 9, 2)
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secret_variables() -> list[str]:
    """Every environment variable ``Settings`` reads into a ``SecretStr``."""
    return sorted(
        name for name, (_, f) in _variables(Settings).items() if "SecretStr" in str(f.annotation)
    )


def distinctive_secrets(server_url: str) -> tuple[dict[str, str], list[str]]:
    """(environment, the values to search for): one value per secret variable; URLs
    carry their secret part (password, path token) separately searched too."""
    env: dict[str, str] = {}
    needles: list[str] = []
    for name in secret_variables():
        tag = f"Zq{name.replace('_', '').lower()}9x4"
        if name == "REDIS_URL":
            # A dead Redis: the breakers and cache log its outage, never its password.
            value = f"redis://:pw{tag}@127.0.0.1:{free_port()}/0"
            needles.append(f"pw{tag}")
        elif name.endswith("_URL"):
            value = f"{server_url}/services/T0/B0/tok{tag}"
            needles.append(f"tok{tag}")
        else:
            value = f"sec{tag}"
        env[name] = value
        needles.append(value)
    assert {"REDIS_URL", "SNOWFLAKE_PASSWORD", "SLACK_SIGNING_SECRET"} <= set(env)
    return env, needles


def assert_none_in(text: str, needles: list[str], where: str) -> None:
    assert len(text) > 1000, f"{where}: too little was recorded for the search to prove anything"
    leaked = [n for n in needles if n in text]
    assert leaked == [], f"{where} holds {leaked}"


def echo(request: Request) -> str:
    """The request's credentials first (an error excerpt keeps only the start), then
    every other header."""
    keys = ("Authorization", "X-Api-Key")
    first = {k: request.headers[k] for k in keys if k in request.headers}
    return json.dumps({**first, **dict(request.headers)})


def echo_failure_then(handler: Any) -> Any:
    """The first request answers 500 with every header it got (a proxy echoing the
    request); later ones go to ``handler``."""
    calls = {"n": 0}

    def wrapped(request: Request) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            return Response(echo(request), status=500)
        return handler(request)

    return wrapped


def fake_vendors(server: FaultServer) -> None:
    FakeHubSpot(server, per_type=2)
    path = "/crm/v3/objects/contacts/search"
    server.route("POST", path, echo_failure_then(server._routes[("POST", path)]))
    issue = {
        "id": "i-1",
        "identifier": "ENG-1",
        "title": "Fix",
        "createdAt": "2026-09-01T10:00:00Z",
        "updatedAt": "2026-09-02T10:00:00Z",
        "state": {"name": "Todo", "type": "unstarted"},
    }
    page = {"data": {"issues": {"nodes": [issue], "pageInfo": {"hasNextPage": False}}}}
    server.route("POST", "/graphql", echo_failure_then(lambda r: page))
    # GitHub refuses every call, echoing the token: the asset fails, and its error (with
    # the body's excerpt) reaches the event log.
    server.route(
        "GET",
        "/repos/acme/app/events",
        lambda r: Response(echo(r), status=401),
    )
    person = {"id": "p1", "name": "Ada", "updated_at": "2026-09-02T10:00:00Z"}
    server.route(
        "POST",
        "/api/v1/contacts/search",
        echo_failure_then(lambda r: {"contacts": [person], "pagination": {"total_pages": 1}}),
    )
    call = {
        "metaData": {"id": "g1", "title": "Intro", "started": "2026-09-02T15:00:00Z"},
        "parties": [{"speakerId": "s1", "name": "Rita", "affiliation": "Internal"}],
    }
    server.route("GET", "/v2/calls", echo_failure_then(lambda r: {"calls": [{"id": "g1"}]}))
    server.route("POST", "/v2/calls/transcript", lambda r: {"callTranscripts": []})
    server.route("POST", "/v2/calls/extensive", lambda r: {"calls": [call]})


@pytest.fixture
def secrets_env(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> Iterator[tuple[dict[str, str], list[str]]]:
    env, needles = distinctive_secrets(fault_server.url)
    for base in ("HUBSPOT", "LINEAR", "APOLLO", "GITHUB", "GONG"):
        env[f"{base}_API_BASE_URL"] = fault_server.url
    env["GITHUB_REPOS"] = "acme/app"
    env["APOLLO_INITIAL_CURSOR"] = "2026-09-02T00:00:00Z"
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    yield env, needles


@pytest.mark.slow  # Dagster retry delays / slow answers: over 10 s
def test_prod_readers_keep_every_secret_out_of_everything_recorded(
    fault_server: FaultServer,
    secrets_env: tuple[dict[str, str], list[str]],
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    env, needles = secrets_env
    fake_vendors(fault_server)
    settings = load_settings()
    warehouse = DuckDBWarehouse(path=str(data_dir / "w.duckdb"), raw_tables=raw_tables())
    warehouse.ensure_schema()
    readers = prod_readers(settings, warehouse)
    sources = ["hubspot", "linear", "github", "apollo", "gong"]
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [source_assets(SPECS[s], settings)[0] for s in sources],
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse, **{k: readers[k] for k in map(reader_key, sources)}},
        instance=instance,
        raise_on_error=False,
    )
    # Each vendor failed once, echoing the credential it was sent, and was retried.
    echoed = [h for h in fault_server.hits if h.path != "/v2/calls/transcript"]
    sent = " ".join(json.dumps(h.headers) for h in echoed)
    for var in ("HUBSPOT_ACCESS_TOKEN", "LINEAR_API_KEY", "GITHUB_TOKEN", "APOLLO_API_KEY"):
        assert env[var] in sent  # the credential really was in use
    failed = {e.step_key for e in result.all_events if e.is_step_failure}
    assert failed == {"raw__github_events"}
    for s in sources:
        assert warehouse.count(SPECS[s].raw_table) >= (s != "github"), s
    parts = [f"{e.user_message} {e.dagster_event!r}" for e in instance.all_logs(result.run_id)]
    run = instance.get_run_by_id(result.run_id)
    parts.append(repr(run.run_config if run else None))
    parts.append(repr(run.tags if run else None))
    parts.extend(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    out = capsys.readouterr()
    parts.extend([out.out, out.err])
    parts.append(warehouse.query("SELECT * FROM ops.source_cursors").to_json())
    assert "HTTP 401" in "\n".join(parts)  # the refusal itself was recorded
    assert_none_in("\n".join(parts), needles, "the prod readers' run")


def files_text(*roots: Path) -> str:
    """Every byte of every file under ``roots`` (SQLite databases, compute logs,
    landing files), decoded leniently so any ASCII secret stays findable."""
    chunks = []
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                chunks.append(p.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


def cli(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    code = "import sys; from sophia_pipeline.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


@pytest.mark.slow
def test_cli_and_receiver_keep_every_secret_out(fault_server: FaultServer, tmp_path: Path) -> None:
    secrets, needles = distinctive_secrets(fault_server.url)
    alert_path = "/services/T0/B0/" + secrets["SOPHIA_ALERT_WEBHOOK_URL"].rsplit("/", 1)[1]
    fault_server.route("POST", alert_path, lambda r: Response("no", status=500))
    data, home = tmp_path / "data", tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPHIA_", "DAGSTER_"))}
    env.update(secrets)
    env.update(
        SOPHIA_PROFILE="local",
        SOPHIA_DATA_DIR=str(data),
        DAGSTER_HOME=str(home),
        SOPHIA_DATA_START="2024-01-01",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(REPO),
    )
    outputs: list[str] = []

    status = cli(["status", "--json"], env)
    assert status.returncode == 0, status.stderr[-2000:]
    json.loads(status.stdout)
    outputs += [status.stdout, status.stderr]

    # A failing run: one landed day, and a warehouse file that is not a database.
    small_gong_landing(data / "landing", DAY, days=1, per_day=1)
    (data / "warehouse.duckdb").write_bytes(b"not a duckdb file " * 64)
    failed = cli(["run", "--start", DAY.isoformat(), "--end", DAY.isoformat()], env)
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert "RUN_FAILURE" in failed.stderr  # it really failed, and said so
    outputs += [failed.stdout, failed.stderr]

    port = free_port()
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from sophia_pipeline.cli import main; sys.exit(main(sys.argv[1:]))",
            "webhooks",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        ts = str(int(time.time()))
        body = b'{"type": "event_callback", "event_id": "Ev1", "event": '
        signed = slack_signature(secrets["SLACK_SIGNING_SECRET"], ts, body)
        statuses = [
            post(
                base + "/webhooks/slack",
                b"{}",
                {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + "0" * 64},
            ),
            post(
                base + "/webhooks/slack",
                body,
                {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signed},
            ),  # signed, but not JSON
            post(
                base + "/webhooks/github",
                b"{}",
                {
                    "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": "d1",
                    "X-Hub-Signature-256": "sha256=" + "0" * 64,
                },
            ),
        ]
        assert statuses == [401, 400, 401]
    finally:
        receiver.terminate()
        r_out, r_err = receiver.communicate(timeout=30)
    outputs += [r_out, r_err]
    assert "invalid_signature" in r_err or "401" in r_err  # the refusals were logged

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        for record in instance.get_run_records():
            run = record.dagster_run
            outputs.append(repr(run.run_config) + repr(run.tags))
            outputs += [
                f"{e.user_message} {e.dagster_event!r}" for e in instance.all_logs(run.run_id)
            ]
    finally:
        instance.dispose()
    assert_none_in("\n".join(outputs), needles, "the CLI's and receiver's output and run history")
    assert_none_in(files_text(data, home), needles, "the files under the data dir and DAGSTER_HOME")


def wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the receiver never became healthy")


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
