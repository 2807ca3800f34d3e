"""Input never becomes SQL: injection strings fed through every entry point reachable
here are stored and matched as the literal values they are, with no SQL error and no
effect on anything else (the CLI's partition range, landed record ids, webhook event
ids, the store's id-taking functions, LanceDB's delete and filter strings)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from starlette.testclient import TestClient

from sophia_pipeline.cli import main
from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.resources.source_readers import LandingFilesReader
from sophia_pipeline.resources.vector_store import Filters, VectorRecord
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.landing import Rejected
from sophia_pipeline.sources.registry import SPECS, raw_tables
from sophia_pipeline.store import intelligence, ops, raw, staging
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.webhooks.app import create_app
from sophia_pipeline.webhooks.landing import LandingStore
from sophia_pipeline_tests.factories import gong_call, write_gong_day
from sophia_pipeline_tests.webhooks.conftest import fresh_reader
from sophia_pipeline_tests.webhooks.payloads import (
    GITHUB_SECRET,
    SLACK_SECRET,
    encode,
    github_headers,
    github_issues,
    slack_headers,
    slack_message_event,
)

INJECTIONS = [
    "x' OR '1'='1",
    "'; DROP TABLE x; --",
    "1; SELECT",
    "a\\' OR 1=1 --",
    '" OR ""="',
    "') OR ('1'='1",
]
DAY = date(2026, 9, 4)


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"), raw_tables=raw_tables())
    wh.ensure_schema()
    return wh


def tables(wh: DuckDBWarehouse) -> set[str]:
    df = wh.query("SELECT table_schema || '.' || table_name AS t FROM information_schema.tables")
    return set(df["t"])


@pytest.mark.parametrize("value", INJECTIONS)
def test_cli_partition_keys_are_dates_or_a_usage_error(
    value: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["run", "--start", value, "--end", "2026-09-04"],
                 ["run", "--start", "2026-09-04", "--end", value]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "is not a date (YYYY-MM-DD)" in err and "Traceback" not in err
    assert not (data_dir / "warehouse.duckdb").exists()  # nothing ran


def test_landed_record_ids_are_stored_and_read_back_literally(
    warehouse: DuckDBWarehouse, data_dir: Path
) -> None:
    landing = data_dir / "landing"
    calls = [gong_call(f"call-{i}-{v}", DAY) for i, v in enumerate(INJECTIONS)]
    write_gong_day(landing, DAY, [gong_call("plain", DAY), *calls])
    before = tables(warehouse)
    result = dg.materialize(
        source_assets(SPECS["gong"], load_settings()),
        partition_key=DAY.isoformat(),
        resources={
            "warehouse": warehouse,
            "gong_source": LandingFilesReader(landing_dir=str(landing)),
        },
    )
    assert result.success
    assert tables(warehouse) == before
    ids = raw.record_ids_since(warehouse, "raw.gong_calls", DAY)
    assert ids == {"plain", *(c["call_id"] for c in calls)}
    docs = staging.read_documents(warehouse, "gong", DAY, date(2026, 9, 5))
    assert len(docs) == len(INJECTIONS) + 1
    for value in INJECTIONS:
        assert intelligence.call_summary(warehouse, value).empty  # no match, no error


def test_store_functions_taking_ids_match_only_the_literal(warehouse: DuckDBWarehouse) -> None:
    with warehouse.transaction() as tx:
        for value in INJECTIONS:
            ops.set_cursor_tx(tx, "apollo", value, value, "run-1")
        ops.record_dead_letters(
            tx, "gong", "raw/gong_calls",
            [Rejected(v, f"file-{v}", 1, f"bad {v}") for v in INJECTIONS], DAY,
        )  # fmt: skip
        ops.set_cursor_tx(tx, "apollo", "plain", "kept", "run-1")
    before = tables(warehouse)
    assert ops.read_cursors(warehouse, "apollo") == {
        **{v: v for v in INJECTIONS},
        "plain": "kept",
    }
    for value in INJECTIONS:
        assert ops.read_cursor(warehouse, "apollo", value) == value
        assert ops.read_cursors(warehouse, value) == {}
        assert ops.dead_letters_to_replay(warehouse, [value], None, 100).empty
        assert ops.dead_letters_to_replay(warehouse, None, [value], 100).empty
        assert staging.read_chunks_by_id(warehouse, [value]).empty
        with warehouse.transaction() as tx:
            ops.delete_dead_letters(tx, [value])  # matches no letter id: deletes nothing
    assert warehouse.count("ops.dead_letters") == len(INJECTIONS)
    assert len(ops.dead_letters_to_replay(warehouse, ["gong"], None, 100)) == len(INJECTIONS)
    assert tables(warehouse) == before


def vec(i: int) -> np.ndarray:
    v = np.zeros(8, dtype=np.float32)
    v[i % 8] = 1.0
    return v


def test_lancedb_delete_and_filter_take_values_not_expressions(tmp_path: Path) -> None:
    store = LanceDBVectorStore(uri=str(tmp_path / "lance"), dim=8)
    records = [
        VectorRecord(v, vec(i), f"text {i}", f"doc-{i}", v, f"h{i}", "2026-09-04")
        for i, v in enumerate(INJECTIONS)
    ] + [VectorRecord("plain", vec(0), "plain", "doc-p", "gong", "hp", "2026-09-04")]
    store.upsert(records)
    for i, value in enumerate(INJECTIONS):
        hits = store.query(vec(i), top_k=50, filters=Filters(sources=(value,)))
        assert [h.id for h in hits] == [value]  # the filter matched the literal source
        # Every other filter takes the value as data too.
        for other in (Filters(account_id=value), Filters(speaker=value)):
            assert store.query(vec(i), top_k=50, filters=other) == []
    assert store.query(vec(0), top_k=50, filters=Filters(sources=("gong",)))[0].id == "plain"
    store.delete([INJECTIONS[0], INJECTIONS[1]])
    assert store.ids() == {*INJECTIONS[2:], "plain"}
    store.delete(INJECTIONS[2:])
    assert store.ids() == {"plain"}


@pytest.fixture
def landing_store(tmp_path: Path) -> Iterator[LandingStore]:
    s = LandingStore(tmp_path / "landing")
    yield s
    s.close()


def test_webhook_event_ids_must_be_tokens_and_fields_land_literally(
    landing_store: LandingStore,
) -> None:
    with TestClient(create_app(landing_store, SLACK_SECRET, GITHUB_SECRET)) as client:
        for value in INJECTIONS:
            # A signed event whose id is not a safe token: refused before it lands.
            body = encode(slack_message_event(value))
            r = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
            assert r.status_code == 400 and r.json()["error"] == "bad_event_id"
            gh = encode(github_issues())
            r = client.post(
                "/webhooks/github", content=gh, headers=github_headers(gh, "issues", delivery=value)
            )
            assert r.status_code == 400
        # Injection strings inside the payload (the fields that become record ids and
        # text downstream) land byte for byte.
        for i, value in enumerate(INJECTIONS):
            event = slack_message_event(f"Ev-inj-{i}")
            event["event"] = {**event["event"], "channel": value, "text": value}
            body = encode(event)
            r = client.post("/webhooks/slack", content=body, headers=slack_headers(body))
            assert r.status_code == 200
    events, _ = fresh_reader(landing_store).read_after("slack", None, 1000)
    assert [e.payload["event"]["channel"] for e in events] == INJECTIONS
    github, _ = fresh_reader(landing_store).read_after("github", None, 1000)
    assert github == []
