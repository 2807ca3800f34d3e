"""No secret reaches a log line, the event log or asset metadata: a production reader and
the Airbyte sync run with known secret values (from ``EnvVar``), against servers that
misbehave, and everything they left behind is searched for those values."""

from __future__ import annotations

import base64
import logging
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from werkzeug import Request

from sophia_pipeline.defs.airbyte import airbyte_sync_asset, airbyte_workspace
from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.resources.prod_readers import ApolloApiReader, GongApiReader
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.reliability.fault_server import FaultServer, Status

DAY = date(2026, 5, 1)
APOLLO_KEY = "apollo-secret-5b0c9e1d77"
GONG_KEY, GONG_SECRET = "gong-access-key-41f2", "gong-key-secret-9a8b7c"
AIRBYTE_USER, AIRBYTE_PASSWORD = "dagster-bot", "airbyte-pass-2c6d0f9e"


def everything_recorded(
    instance: dg.DagsterInstance,
    result: dg.ExecuteInProcessResult,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """Every log line and event (metadata included) of the run, the run's config, the
    Python log records and whatever reached the console."""
    entries = instance.all_logs(result.run_id)
    parts = [f"{e.user_message} {e.dagster_event!r}" for e in entries]
    run = instance.get_run_by_id(result.run_id)
    parts.append(repr(run.run_config if run else None))
    parts.extend(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    out = capsys.readouterr()
    parts.extend([out.out, out.err])
    return "\n".join(parts)


def assert_absent(text: str, *secrets: str) -> None:
    assert len(text) > 1000, "too little was recorded for the search to prove anything"
    for secret in secrets:
        assert secret not in text


def test_apollo_reader_keeps_its_key_out_of_logs_and_metadata(
    fault_server: FaultServer,
    warehouse: DuckDBWarehouse,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("APOLLO_API_KEY", APOLLO_KEY)
    records = [
        {"id": "p1", "name": "Ada", "updated_at": "2026-05-01T10:00:00Z"},
        {"id": "p2", "organization": {"name": "no id"}, "updated_at": "2026-05-01T09:00:00Z"},
    ]
    fault_server.route(
        "POST",
        "/api/v1/contacts/search",
        lambda r: {"contacts": records, "pagination": {"total_pages": 1}},
    )
    # A broken proxy echoing the request's key back in its error body, then a 429.
    fault_server.inject(
        "POST",
        "/api/v1/contacts/search",
        Status(502, f'{{"error": "bad key {APOLLO_KEY}"}}'),
        Status(429, f'{{"error": "slow down {APOLLO_KEY}"}}', (("Retry-After", "0"),)),
    )
    reader = ApolloApiReader(
        api_key=dg.EnvVar("APOLLO_API_KEY"),
        base_url=fault_server.url,
        initial_cursor="2026-05-01T00:00:00Z",
    )
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [source_assets(SPECS["apollo"], load_settings())[0]],
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse, "apollo_source": reader},
        instance=instance,
    )
    assert result.success
    hits = fault_server.hits_for("POST", "/api/v1/contacts/search")
    assert hits[-1].headers["x-api-key"] == APOLLO_KEY  # the key was really in use
    assert len(hits) == 3
    text = everything_recorded(instance, result, caplog, capsys)
    assert "HTTP 502" in text or "502" in text  # the failure itself was logged
    assert_absent(text, APOLLO_KEY)


def test_gong_api_reader_keeps_key_and_secret_out(
    fault_server: FaultServer,
    warehouse: DuckDBWarehouse,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GONG_ACCESS_KEY", GONG_KEY)
    monkeypatch.setenv("GONG_ACCESS_KEY_SECRET", GONG_SECRET)
    basic = base64.b64encode(f"{GONG_KEY}:{GONG_SECRET}".encode()).decode()
    call = {
        "metaData": {"id": "g1", "title": "Intro", "started": "2026-05-01T15:00:00Z"},
        "parties": [{"speakerId": "s1", "name": "Rita", "affiliation": "Internal"}],
    }
    fault_server.route("GET", "/v2/calls", lambda r: {"calls": [{"id": "g1"}], "records": {}})
    fault_server.route("POST", "/v2/calls/transcript", lambda r: {"callTranscripts": []})
    fault_server.route("POST", "/v2/calls/extensive", lambda r: {"calls": [call]})
    fault_server.inject("GET", "/v2/calls", Status(500, f'{{"echo": "Basic {basic}"}}'))
    reader = GongApiReader(
        access_key=dg.EnvVar("GONG_ACCESS_KEY"),
        access_key_secret=dg.EnvVar("GONG_ACCESS_KEY_SECRET"),
        base_url=fault_server.url,
    )
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [source_assets(SPECS["gong"], load_settings())[0]],
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse, "gong_source": reader},
        instance=instance,
    )
    assert result.success
    assert warehouse.count("raw.gong_calls") == 1
    text = everything_recorded(instance, result, caplog, capsys)
    assert_absent(text, GONG_KEY, GONG_SECRET, basic)


class FakeAirbyte:
    """The few Airbyte API calls a sync makes: connection details, running jobs, start,
    poll."""

    def __init__(self, server: FaultServer) -> None:
        self.polls = 0
        server.route("POST", "/api/v1/connections/get", self.connection)
        server.route("GET", "/api/public/v1/jobs", lambda r: {"data": []})
        server.route(
            "POST",
            "/api/public/v1/jobs",
            lambda r: {"jobId": 7, "status": "running", "jobType": "sync"},
        )
        server.route("GET", "/api/public/v1/jobs/7", self.poll)

    def connection(self, request: Request) -> dict[str, Any]:
        return {"connectionId": "conn-gong", "name": "Gong to Snowflake", "status": "active"}

    def poll(self, request: Request) -> dict[str, Any]:
        self.polls += 1
        status = "running" if self.polls == 1 else "succeeded"
        return {
            "jobId": 7,
            "status": status,
            "jobType": "sync",
            "connectionId": "conn-gong",
            "rowsSynced": 42,
            "bytesSynced": 4096,
            "startTime": "2026-05-01T12:00:00Z",
        }


def test_airbyte_sync_keeps_the_password_out(
    fault_server: FaultServer,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {
        "AIRBYTE_WORKSPACE_ID": "ws-1",
        "AIRBYTE_REST_API_BASE_URL": f"{fault_server.url}/api/public/v1",
        "AIRBYTE_CONFIGURATION_API_BASE_URL": f"{fault_server.url}/api/v1",
        "AIRBYTE_USERNAME": AIRBYTE_USER,
        "AIRBYTE_PASSWORD": AIRBYTE_PASSWORD,
        "AIRBYTE_POLL_INTERVAL_S": "0.05",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    fake = FakeAirbyte(fault_server)
    # A failing poll whose body echoes the password (dagster-airbyte logs failures).
    fault_server.inject(
        "GET", "/api/public/v1/jobs/7", Status(500, f'{{"detail": "{AIRBYTE_PASSWORD}"}}')
    )
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [airbyte_sync_asset("gong", "conn-gong", load_settings())],
        resources={"airbyte": airbyte_workspace(load_settings(env).airbyte)},
        instance=instance,
    )
    assert result.success and fake.polls == 2
    basic = base64.b64encode(f"{AIRBYTE_USER}:{AIRBYTE_PASSWORD}".encode()).decode()
    assert (
        fault_server.hits_for("POST", "/api/public/v1/jobs")[0].headers["authorization"]
        == f"Basic {basic}"
    )
    (mat,) = result.asset_materializations_for_node("airbyte__gong")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["airbyte_job_id"] == 7 and meta["rows_synced"] == 42
    assert meta["status"] == "succeeded" and meta["connection_name"] == "Gong to Snowflake"
    text = everything_recorded(instance, result, caplog, capsys)
    assert "Request to Airbyte API failed" in text  # the failure was logged...
    assert_absent(text, AIRBYTE_PASSWORD, basic)  # ...without the password
