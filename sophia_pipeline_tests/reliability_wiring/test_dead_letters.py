"""A poison record: dead-lettered with a readable reason while its batch loads, flagged
by the growth check, and replayed into its raw partition once the cause is fixed."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.defs.checks import DEAD_LETTER_CHECK, dead_letter_check
from sophia_pipeline.defs.jobs import build_replay_job, entity_of, replay_day
from sophia_pipeline.resources.source_readers import LandingFilesReader
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources import gong
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.factories import gong_call, write_gong_day

DAY = date(2026, 9, 3)
SPEC = SPECS["gong"]


@pytest.fixture
def landing(data_dir: Path) -> Path:
    landing = data_dir / "landing"
    negative = gong_call("c-negative", DAY)
    negative["duration_s"] = -30  # schema violation: a duration is never negative
    write_gong_day(landing, DAY, [gong_call("c-1", DAY), negative, gong_call("c-2", DAY)])
    return landing


def ingest(wh: DuckDBWarehouse, landing: Path) -> dg.ExecuteInProcessResult:
    spec = SPECS["gong"]  # looked up now: a test may have deployed a fix
    raw_asset = source_assets(spec, load_settings())[0]
    return dg.materialize(
        [raw_asset, dead_letter_check(spec, load_settings())],
        partition_key=DAY.isoformat(),
        resources={"warehouse": wh, "gong_source": LandingFilesReader(landing_dir=str(landing))},
        raise_on_error=False,
    )


def growth_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == DEAD_LETTER_CHECK
    ]
    return evaluation


def replay(wh: DuckDBWarehouse, **config: Any) -> dg.ExecuteInProcessResult:
    return build_replay_job(load_settings()).execute_in_process(
        resources={"warehouse": wh},
        run_config={"ops": {"replay_dead_letters_op": {"config": config}}},
    )


def raw_calls(wh: DuckDBWarehouse) -> dict[str, str]:
    df = wh.query("SELECT record_id, partition_date FROM raw.gong_calls ORDER BY record_id")
    return {r: str(d.date()) for r, d in zip(df["record_id"], df["partition_date"], strict=True)}


def letters(wh: DuckDBWarehouse) -> list[dict[str, Any]]:
    return wh.query("SELECT * FROM ops.dead_letters ORDER BY line_no").to_dict("records")


def test_poison_record_dead_lettered_flagged_and_replayed_after_a_payload_fix(
    warehouse: DuckDBWarehouse, landing: Path
) -> None:
    first = ingest(warehouse, landing)
    assert first.success  # the poison record never fails the partition
    assert set(raw_calls(warehouse)) == {"c-1", "c-2"}
    (letter,) = letters(warehouse)
    assert (
        letter["error"]
        == "schema violation: duration_s: Input should be greater than or equal to 0"
    )
    assert letter["line_no"] == 2 and letter["stage"] == "raw/gong_calls"
    check = growth_check(first)
    assert not check.passed and check.metadata["new_dead_letters"].value == 1

    again = ingest(warehouse, landing)  # same bad line, already reported: no growth
    assert growth_check(again).passed
    assert letters(warehouse)[0]["attempts"] == 2

    # Replaying before the cause is fixed keeps the letter, with another attempt.
    still = replay(warehouse)
    assert still.success
    (kept,) = letters(warehouse)
    assert kept["attempts"] == 3 and "duration_s" in kept["error"]
    assert set(raw_calls(warehouse)) == {"c-1", "c-2"}

    # An operator corrects the payload in the dead-letter table; the replay loads it.
    fixed = json.loads(kept["payload"])
    fixed["duration_s"] = 30
    warehouse.execute(
        "UPDATE ops.dead_letters SET payload = ? WHERE dead_letter_id = ?",
        [json.dumps(fixed), kept["dead_letter_id"]],
    )
    done = replay(warehouse, sources=["gong"])
    assert done.success
    assert raw_calls(warehouse) == {
        "c-1": "2026-09-03",
        "c-2": "2026-09-03",
        "c-negative": "2026-09-03",
    }
    assert letters(warehouse) == []
    (event,) = done.asset_materializations_for_node("replay_dead_letters_op")
    assert (
        event.asset_key == dg.AssetKey.from_user_string("raw/gong_calls")
        and event.partition == "2026-09-03"
    )

    replay(warehouse)  # nothing left: idempotent
    assert len(raw_calls(warehouse)) == 3


def test_replay_after_the_code_accepts_the_record(
    warehouse: DuckDBWarehouse, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ingest(warehouse, landing).success
    assert len(letters(warehouse)) == 1

    class Lenient(gong.GongCall):
        duration_s: int  # the fix: negative durations (clock skew in Gong) are accepted

    monkeypatch.setitem(
        SPECS, "gong", dataclasses.replace(SPEC, parse=lambda e, o: Lenient.model_validate(o))
    )
    assert replay(warehouse).success
    assert set(raw_calls(warehouse)) == {"c-1", "c-2", "c-negative"}
    assert letters(warehouse) == []

    # With the fix deployed, re-reading the file adds nothing and no letter comes back.
    rerun = ingest(warehouse, landing)
    assert rerun.success and growth_check(rerun).passed
    assert growth_check(rerun).metadata["dead_letters"].value == 0
    assert letters(warehouse) == [] and len(raw_calls(warehouse)) == 3


def test_new_poison_in_a_later_run_fails_the_check_again(
    warehouse: DuckDBWarehouse, landing: Path
) -> None:
    assert not growth_check(ingest(warehouse, landing)).passed
    untitled = gong_call("c-untitled", DAY)
    del untitled["title"]
    path = landing / "gong" / "calls" / f"{DAY.isoformat()}.jsonl"
    path.write_text(path.read_text() + json.dumps(untitled) + "\n")
    later = growth_check(ingest(warehouse, landing))
    assert not later.passed and later.metadata["dead_letters"].value == 2
    assert later.metadata["new_dead_letters"].value == 1


def test_entity_and_day_of_a_letter_come_from_its_source_file() -> None:
    hubspot = SPECS["hubspot"]
    assert entity_of(hubspot, "/data/landing/hubspot/deals/2026-09-01.jsonl") == "deal"
    assert entity_of(hubspot, "api:hubspot/companies") == "company"
    assert entity_of(hubspot, "/data/contacts/landing/x.jsonl") is None
    assert entity_of(SPECS["costar"], "anything") == "property"
    # Slack lands members and channels too; a webhook segment's letter is a message.
    slack = SPECS["slack"]
    assert entity_of(slack, "/data/webhooks/slack/segment-000001.jsonl") == "message"
    assert entity_of(slack, "/data/landing/slack/users/2026-09-01.jsonl") == "user"
    assert replay_day("/l/costar/batches/costar_2026-09-04.csv", None) == date(2026, 9, 4)
    assert replay_day("api:apollo/contacts", date(2026, 9, 5)) == date(2026, 9, 5)
