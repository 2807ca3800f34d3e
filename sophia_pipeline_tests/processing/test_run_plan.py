"""The run planner: what `sophia-pipeline run` launches after an earlier run."""

from __future__ import annotations

from datetime import date

from sophia_pipeline.processing.run_plan import (
    RecordedRun,
    RunInputs,
    inputs_after_run,
    plan_run,
)

D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
TODAY = date(2026, 11, 29)
DAYS = {("gong", D1): "a", ("gong", D2): "b", ("slack", D3): "c"}
COUNTS = {"raw.gong_calls": 10, "vectors": 40}


def inputs(days: dict[tuple[str, date], str] = DAYS, code: str = "v1") -> RunInputs:
    return RunInputs(code=code, days=days, today=TODAY)


def last(days: dict[tuple[str, date], str] = DAYS, code: str = "v1") -> RecordedRun:
    return RecordedRun(run_id="r1", inputs=inputs(days, code), counts=COUNTS)


def test_nothing_changed_launches_nothing() -> None:
    plan = plan_run(inputs(), COUNTS, last())
    assert plan.nothing_to_do and "r1" in plan.reason


def test_first_run_covers_every_landed_day() -> None:
    plan = plan_run(inputs(), COUNTS, None)
    assert (plan.start, plan.end) == (D1, D3)


def test_no_landing_files_is_nothing_to_do() -> None:
    assert plan_run(inputs({}), {}, None).nothing_to_do


def test_a_changed_day_runs_that_day_only() -> None:
    plan = plan_run(inputs({**DAYS, ("gong", D2): "b2"}), COUNTS, last())
    assert (plan.start, plan.end) == (D2, D2)
    assert plan.changed_days == {("gong", D2)} and "gong" in plan.reason


def test_new_and_removed_days_count_as_changed() -> None:
    added = {**DAYS, ("linear", D3): "d"}
    assert (
        plan_run(inputs(added), COUNTS, last()).start,
        plan_run(inputs(added), COUNTS, last()).end,
    ) == (D3, D3)
    removed = {k: v for k, v in DAYS.items() if k != ("gong", D1)}
    plan = plan_run(inputs(removed), COUNTS, last())
    assert (plan.start, plan.end) == (D1, D1)


def test_changed_days_far_apart_run_the_range_between_them() -> None:
    plan = plan_run(inputs({**DAYS, ("gong", D1): "x", ("slack", D3): "y"}), COUNTS, last())
    assert (plan.start, plan.end) == (D1, D3)


def test_code_change_reruns_everything() -> None:
    plan = plan_run(inputs(code="v2"), COUNTS, last())
    assert (plan.start, plan.end) == (D1, D3) and "code" in plan.reason


def test_stores_that_differ_from_the_record_rerun_everything() -> None:
    # e.g. the index folder was deleted, or a webhook batch wrote rows since.
    plan = plan_run(inputs(), {**COUNTS, "vectors": 0}, last())
    assert (plan.start, plan.end) == (D1, D3) and "counts" in plan.reason


def test_a_new_calendar_day_refreshes_the_last_landed_day() -> None:
    earlier = RecordedRun("r1", RunInputs("v1", DAYS, date(2026, 11, 28)), COUNTS)
    plan = plan_run(inputs(), COUNTS, earlier)
    assert (plan.start, plan.end) == (D3, D3)


def test_record_after_a_partial_run_keeps_days_outside_it() -> None:
    now = inputs({**DAYS, ("gong", D1): "a2", ("gong", D2): "b2"})
    # Only D2 was run: D1's change is still to do, so D1 keeps the old fingerprint.
    recorded = inputs_after_run(now, last(), D2, D2)
    assert recorded.days == {("gong", D1): "a", ("gong", D2): "b2", ("slack", D3): "c"}
    plan = plan_run(now, COUNTS, RecordedRun("r2", recorded, COUNTS))
    assert (plan.start, plan.end) == (D1, D1)


def test_record_after_a_partial_run_on_new_code_drops_days_outside_it() -> None:
    recorded = inputs_after_run(inputs(code="v2"), last(), D2, D2)
    assert recorded.days == {("gong", D2): "b"} and recorded.code == "v2"
    plan = plan_run(inputs(code="v2"), COUNTS, RecordedRun("r2", recorded, COUNTS))
    assert (plan.start, plan.end) == (D1, D3)


def test_record_after_the_first_run_holds_what_it_covered() -> None:
    assert inputs_after_run(inputs(), None, D1, D2).days == {
        ("gong", D1): "a",
        ("gong", D2): "b",
    }
