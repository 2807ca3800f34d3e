"""The other production readers: Airbyte raw tables, GitHub events polling, the shape
mappings, and which reader the prod profile registers for which configuration."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from werkzeug import Request, Response

from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.defs.resources import prod_readers
from sophia_pipeline.resources.prod_readers import (
    AirbyteTableReader,
    ApolloApiReader,
    CoStarBatchReader,
    GitHubApiReader,
    GongApiReader,
    HubSpotApiReader,
    LinearApiReader,
    landing_day,
    to_landing,
)
from sophia_pipeline.resources.source_readers import FetchState, LandingFilesReader
from sophia_pipeline.settings import Settings, load_settings
from sophia_pipeline.sources import gong, hubspot, linear
from sophia_pipeline.sources.gong import gong_call_from_api
from sophia_pipeline.sources.hubspot import hubspot_object_from_airbyte
from sophia_pipeline.sources.linear import linear_issue_from_api
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store import ops
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.store.ops import read_cursor
from sophia_pipeline_tests.reliability.fault_server import FaultServer

DAY = date(2026, 9, 2)

GONG_API_CALL: dict[str, Any] = {
    "metaData": {
        "id": "7782342274025937895",
        "title": "Acme discovery",
        "started": "2026-09-02T15:30:00Z",
        "duration": 1800,
        "primaryUserId": "u-1",
    },
    "parties": [
        {"id": "p1", "speakerId": "s1", "userId": "u-1", "name": "Rita Rep",
         "emailAddress": "rita@sophia.example", "affiliation": "Internal"},
        {"id": "p2", "speakerId": "s2", "name": "Paul", "affiliation": "External"},
        {"id": "p3", "name": "Silent Observer", "affiliation": "External"},
    ],
    "context": [
        {"system": "HubSpot", "objects": [
            {"objectType": "Company", "objectId": "hs-co-1"},
            {"objectType": "Deal", "objectId": "hs-deal-9"},
        ]}
    ],
    "transcript": [
        {"speakerId": "s1", "topic": "Intro", "sentences": [
            {"start": 1000, "end": 4000, "text": "Thanks for joining."},
            {"start": 4000, "end": 6000, "text": "Shall we start?"},
        ]},
        {"speakerId": "s2", "sentences": [{"start": 7000, "end": 9000, "text": "Sure."}]},
    ],
}  # fmt: skip


def test_api_and_airbyte_shapes_map_onto_the_landing_schemas() -> None:
    landed = gong_call_from_api(GONG_API_CALL)
    call = gong.GongCall.model_validate(landed)
    assert call.call_id == "7782342274025937895" and call.rep_email == "rita@sophia.example"
    assert (call.account_id, call.deal_id) == ("hs-co-1", "hs-deal-9")
    assert [(t.speaker_id, t.start_s, t.text) for t in call.turns] == [
        ("s1", 1.0, "Thanks for joining. Shall we start?"),
        ("s2", 7.0, "Sure."),
    ]
    assert {p.role for p in call.participants} == {"rep", "prospect"}
    assert to_landing("gong", landed) == landed  # idempotent: the replay maps again

    issue = {
        "id": "i-1", "identifier": "ENG-12", "title": "Fix sync", "state": {"name": "Todo",
        "type": "unstarted"}, "labels": {"nodes": [{"id": "l1", "name": "bug"}]},
        "createdAt": "2026-09-01T10:00:00Z", "updatedAt": "2026-09-02T10:00:00Z",
    }  # fmt: skip
    parsed = linear.parse(linear_issue_from_api(issue))
    assert [label.name for label in parsed.labels] == ["bug"]

    company = {
        "id": "101", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-09-02T08:00:00Z",
        "archived": False, "properties": {"name": "Acme", "domain": "acme.example"},
        "properties_name": "Acme", "properties_domain": "acme.example",
        "contacts": ["201", "202"], "deals": ["301"],
    }  # fmt: skip
    mapped = hubspot_object_from_airbyte(company)
    record = hubspot.parse("company", mapped)
    assert record.associated("contacts") == ["201", "202"] and record.associated("deals") == ["301"]
    assert not any(k.startswith("properties_") for k in mapped)
    assert hubspot_object_from_airbyte(mapped) == mapped


def test_late_records_land_in_the_window_that_found_them() -> None:
    start = date(2026, 9, 2)
    assert landing_day(date(2026, 9, 1), start) == start
    assert landing_day(date(2026, 9, 3), start) == date(2026, 9, 3)
    assert landing_day(None, start) == start


def airbyte_raw_table(wh: DuckDBWarehouse, name: str, rows: list[tuple[datetime, Any]]) -> None:
    wh.execute("CREATE SCHEMA IF NOT EXISTS airbyte_internal")
    wh.execute(
        f"CREATE TABLE airbyte_internal.{name} (_airbyte_raw_id VARCHAR, "
        "_airbyte_extracted_at TIMESTAMPTZ, _airbyte_loaded_at TIMESTAMPTZ, "
        "_airbyte_data JSON, _airbyte_meta JSON)"
    )
    for i, (extracted, data) in enumerate(rows):
        wh.execute(
            f"INSERT INTO airbyte_internal.{name} VALUES (?, ?, ?, ?, '{{}}')",
            [f"r{i}", extracted, extracted, json.dumps(data)],
        )


def test_airbyte_reader_loads_what_was_extracted_in_the_window(
    warehouse: DuckDBWarehouse, data_dir: Path
) -> None:
    def call(cid: str, started: str) -> dict[str, Any]:
        meta = {**GONG_API_CALL["metaData"], "id": cid, "started": started}
        return {**GONG_API_CALL, "metaData": meta}

    broken = call("x", "2026-09-02T09:00:00Z")
    del broken["metaData"]["id"]
    airbyte_raw_table(
        warehouse,
        "gong_raw__stream_extensiveCalls",
        [
            (datetime(2026, 9, 2, 16, tzinfo=UTC), call("today", "2026-09-02T15:30:00Z")),
            # Started yesterday, synced today: lands today, not in yesterday's partition.
            (datetime(2026, 9, 2, 1, tzinfo=UTC), call("late", "2026-09-01T23:50:00Z")),
            (datetime(2026, 9, 1, 23, tzinfo=UTC), call("yesterday", "2026-09-01T20:00:00Z")),
            (datetime(2026, 9, 2, 17, tzinfo=UTC), broken),
            # A second extraction of the same version (a full refresh): no new row.
            (datetime(2026, 9, 2, 18, tzinfo=UTC), call("today", "2026-09-02T15:30:00Z")),
        ],
    )
    reader = AirbyteTableReader(warehouse=warehouse, namespace="gong")
    result = dg.materialize(
        [source_assets(SPECS["gong"], load_settings())[0]],
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse, "gong_source": reader},
    )
    assert result.success
    df = warehouse.query("SELECT record_id, partition_date, source_file FROM raw.gong_calls")
    got = {r: str(d.date()) for r, d in zip(df["record_id"], df["partition_date"], strict=True)}
    assert got == {"today": "2026-09-02", "late": "2026-09-02"}
    assert set(df["source_file"]) == {"airbyte:gong/calls"}
    (error,) = warehouse.query("SELECT error FROM ops.dead_letters")["error"]
    assert "cannot map the gong record" in error and "'id'" in error
    meta = result.asset_materializations_for_node("raw__gong_calls")[0].metadata
    assert meta["window_records_new"].value == 2
    assert meta["window_records_already_loaded"].value == 1


def event(eid: str, created: str = "2026-09-02T10:00:00Z") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "WatchEvent",
        "actor": {"id": 1, "login": "octo"},
        "repo": {"id": 2, "name": "acme/app"},
        "payload": {"action": "started"},
        "created_at": created,
    }


def test_github_reader_dedups_by_event_id_and_keeps_the_etag(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, data_dir: Path
) -> None:
    def events(request: Request) -> Response | tuple[int, Any, dict[str, str]]:
        if request.headers.get("If-None-Match") == '"v2"':
            return Response(status=304, headers={"ETag": '"v2"'})
        return 200, [event("3"), event("2"), event("1"), event("2")], {"ETag": '"v2"'}

    fault_server.route("GET", "/repos/acme/app/events", events)
    raw_asset = source_assets(SPECS["github"], load_settings())[0]
    # Event 1 arrived by webhook first, in another shape: the same id is the same event.
    landing = data_dir / "landing" / "github" / "events"
    landing.mkdir(parents=True)
    webhook_copy = {**event("1"), "payload": {"action": "started", "via": "webhook"}}
    (landing / f"{DAY.isoformat()}.jsonl").write_text(json.dumps(webhook_copy) + "\n")
    assert dg.materialize(
        [raw_asset],
        partition_key=DAY.isoformat(),
        resources={
            "warehouse": warehouse,
            "github_source": LandingFilesReader(landing_dir=str(data_dir / "landing")),
        },
    ).success

    reader = GitHubApiReader(token="gh-token", repos=["acme/app"], base_url=fault_server.url)
    added = []
    for _ in range(2):
        result = dg.materialize(
            [raw_asset],
            partition_key=DAY.isoformat(),
            resources={"warehouse": warehouse, "github_source": reader},
        )
        assert result.success
        meta = result.asset_materializations_for_node("raw__github_events")[0].metadata
        added.append(
            (meta["window_records_new"].value, meta["window_records_already_loaded"].value)
        )
    assert added == [(2, 0), (0, 0)]  # the raw asset, the only writer, adds events 3 and 2
    ids = list(warehouse.query("SELECT record_id FROM raw.github_events")["record_id"])
    assert sorted(ids) == ["1", "2", "3"]
    assert json.loads(read_cursor(warehouse, "github", "acme/app") or "{}") == {"etag": '"v2"'}
    hits = fault_server.hits_for("GET", "/repos/acme/app/events")
    assert [h.headers.get("if-none-match") for h in hits] == [None, '"v2"']


def test_prod_registers_each_configured_reader_and_landing_files_otherwise(
    data_dir: Path,
) -> None:
    wh = DuckDBWarehouse(path=str(data_dir / "w.duckdb"))

    def settings_with(environ: dict[str, str]) -> Settings:
        return load_settings({"SOPHIA_DATA_DIR": str(data_dir), **environ})

    none = prod_readers(settings_with({}), wh)
    assert set(none) == {"costar_source"} and isinstance(none["costar_source"], CoStarBatchReader)

    env = {
        "AIRBYTE_WORKSPACE_ID": "ws",
        "AIRBYTE_GONG_CONNECTION_ID": "c1",
        "AIRBYTE_GONG_NAMESPACE": "sales",
        "GONG_ACCESS_KEY": "k",
        "GONG_ACCESS_KEY_SECRET": "s",
        "HUBSPOT_ACCESS_TOKEN": "t",
        "LINEAR_API_KEY": "l",
        "APOLLO_API_KEY": "a",
        "GITHUB_TOKEN": "g",
        "GITHUB_REPOS": "acme/app, acme/web",
        "COSTAR_BATCH_DIR": "/mnt/costar",
    }
    readers = prod_readers(settings_with(env), wh)
    assert isinstance(readers["gong_source"], AirbyteTableReader)  # Airbyte wins
    assert readers["gong_source"].table_for("gong", "call") == (
        "airbyte_internal.sales_raw__stream_extensivecalls"
    )
    assert isinstance(readers["hubspot_source"], HubSpotApiReader)
    assert isinstance(readers["linear_source"], LinearApiReader)
    assert isinstance(readers["apollo_source"], ApolloApiReader)
    github = readers["github_source"]
    assert isinstance(github, GitHubApiReader) and github.repos == ["acme/app", "acme/web"]
    assert readers["costar_source"].batch_dir == "/mnt/costar"  # type: ignore[attr-defined]
    assert "slack_source" not in readers  # webhooks: landing files

    no_airbyte = prod_readers(
        settings_with({k: v for k, v in env.items() if "AIRBYTE" not in k}), wh
    )
    assert isinstance(no_airbyte["gong_source"], GongApiReader)  # the API fallback


def test_github_reader_fetches_from_the_given_state_and_writes_nothing(
    fault_server: FaultServer, warehouse: DuckDBWarehouse
) -> None:
    def events(request: Request) -> Response | tuple[int, Any, dict[str, str]]:
        if request.headers.get("If-None-Match") == '"w1"':
            return Response(status=304, headers={"ETag": '"w1"'})
        return 200, [event("3"), event("2"), event("1")], {"ETag": '"v2"'}

    fault_server.route("GET", "/repos/acme/app/events", events)
    fault_server.route("GET", "/repos/acme/web/events", events)
    reader = GitHubApiReader(
        token="gh-token", repos=["acme/app", "acme/web"], base_url=fault_server.url
    )
    assert reader.known_ids_since(DAY) == date(2026, 6, 3)  # 91 days back
    state = FetchState(
        cursors={"acme/web": json.dumps({"etag": '"w1"'})}, known_ids=frozenset({"1"})
    )
    fetched = reader.read(SPECS["github"], DAY, date(2026, 9, 3), state)
    assert sorted(a.record.id for a in fetched.accepted) == ["2", "3"]  # "1" is known
    assert fetched.rejected == [] and fetched.files == 2 and fetched.by_id_only
    # Only the repository that answered 200 moves its ETag; the 304 one keeps its own.
    assert fetched.cursors == {"acme/app": json.dumps({"etag": '"v2"'})}
    assert warehouse.count("raw.github_events") == 0
    assert ops.read_cursors(warehouse, "github") == {}
