"""What `sophia-pipeline run` fingerprints: landing files by source and day (by content),
and the pipeline's code and settings."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from sophia_pipeline.cli.run_plan import code_fingerprint, landing_fingerprints, store_counts
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.landing import dated_files


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_dated_files_reads_the_day_from_the_pattern(tmp_path: Path) -> None:
    write(tmp_path / "2026-11-02.jsonl", "{}")
    write(tmp_path / "2026-11-01.jsonl", "{}")
    write(tmp_path / "20261103.jsonl", "{}")  # not the name the writer uses
    write(tmp_path / "notes.jsonl", "{}")
    write(tmp_path / "costar_2026-11-04.csv", "a")
    assert [d for d, _ in dated_files(tmp_path)] == [date(2026, 11, 1), date(2026, 11, 2)]
    assert [d for d, _ in dated_files(tmp_path, "costar_{date}.csv")] == [date(2026, 11, 4)]
    assert dated_files(tmp_path / "missing") == []


def test_landing_fingerprints_follow_content_not_file_times(tmp_path: Path) -> None:
    calls = write(tmp_path / "gong/calls/2026-11-01.jsonl", '{"id": 1}\n')
    write(tmp_path / "slack/messages/2026-11-01.jsonl", '{"ts": "1"}\n')
    write(tmp_path / "costar/batches/costar_2026-11-02.csv", "property_id\n")
    write(tmp_path / "_labels/gong_calls.jsonl", "{}\n")  # not a source's file
    first = landing_fingerprints(tmp_path)
    assert set(first) == {
        ("gong", date(2026, 11, 1)),
        ("slack", date(2026, 11, 1)),
        ("costar", date(2026, 11, 2)),
    }
    # Re-written with the same bytes (a re-generated sample): no change.
    os.utime(calls, (1, 1))
    calls.write_text('{"id": 1}\n')
    assert landing_fingerprints(tmp_path) == first
    calls.write_text('{"id": 1}\n{"id": 2}\n')
    second = landing_fingerprints(tmp_path)
    assert {k for k in first if first[k] != second[k]} == {("gong", date(2026, 11, 1))}


def test_code_fingerprint_follows_settings_that_change_output(tmp_path: Path) -> None:
    base = load_settings({"SOPHIA_DATA_DIR": str(tmp_path)})
    same = load_settings({"SOPHIA_DATA_DIR": str(tmp_path), "SOPHIA_LOCK_TIMEOUT_S": "5"})
    catalog = write(tmp_path / "catalog.yaml", "competitors: []\n")
    other = load_settings(
        {"SOPHIA_DATA_DIR": str(tmp_path), "SOPHIA_COMPETITOR_CATALOG": str(catalog)}
    )
    assert code_fingerprint(base) == code_fingerprint(same)
    with_catalog = code_fingerprint(other)
    assert with_catalog != code_fingerprint(base)
    catalog.write_text("competitors: [{name: Acme}]\n")
    assert code_fingerprint(other) != with_catalog


def test_counts_compared_leave_out_views_that_move_with_the_calendar() -> None:
    """The dashboard view is a rolling 30 days over CURRENT_DATE: its count falls day by
    day with no write. Compared, it made the first `run` of a later day re-run every
    landed day instead of the last one."""
    from datetime import date

    from sophia_pipeline.processing.run_plan import RecordedRun, RunInputs, plan_run
    from sophia_pipeline.store.executive import DASHBOARD_TABLE

    tables = {"raw.gong_calls": 60, DASHBOARD_TABLE: 15, "ops.cli_run": 1}
    day = {("gong", date(2026, 11, 23)): "a", ("gong", date(2026, 11, 22)): "b"}
    last = RecordedRun(
        "r1",
        RunInputs("v1", day, date(2026, 11, 29)),
        store_counts({"tables": tables, "vectors": 9}),
    )
    tomorrow = {**tables, DASHBOARD_TABLE: 14}
    assert store_counts({"tables": tomorrow, "vectors": 9}) == {"raw.gong_calls": 60, "vectors": 9}
    plan = plan_run(
        RunInputs("v1", day, date(2026, 11, 30)),
        store_counts({"tables": tomorrow, "vectors": 9}),
        last,
    )
    assert (plan.start, plan.end) == (date(2026, 11, 23), date(2026, 11, 23))


def test_an_unreadable_warehouse_is_no_record(tmp_path: Path) -> None:
    """A damaged DuckDB file: `run` goes ahead over every landed day and fails there, as
    a run (the planning read raised a traceback before the run could say so)."""
    from sophia_pipeline.cli.run_plan import last_run

    settings = load_settings({"SOPHIA_DATA_DIR": str(tmp_path)})
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    settings.duckdb_path.write_bytes(b"not a duckdb file " * 64)
    assert last_run(settings) is None


def test_the_landed_range_is_the_days_the_readers_read(tmp_path: Path) -> None:
    """`run` and its planner find the landed days one way. The run's range used to glob
    `*/*/*.jsonl`: a CoStar batch (`costar_<day>.csv`) alone was "no landing files", and
    a folder no reader reads widened the range."""
    from sophia_pipeline.cli import landed_date_range

    write(tmp_path / "costar/batches/costar_2026-11-02.csv", "property_id\n")
    assert landed_date_range(tmp_path) == (date(2026, 11, 2), date(2026, 11, 2))
    write(tmp_path / "hubspot/tickets/2026-12-01.jsonl", "{}\n")  # no reader reads it
    write(tmp_path / "gong/calls/2026-10-30.jsonl", "{}\n")
    assert landed_date_range(tmp_path) == (date(2026, 10, 30), date(2026, 11, 2))
    assert landed_date_range(tmp_path / "empty") is None
