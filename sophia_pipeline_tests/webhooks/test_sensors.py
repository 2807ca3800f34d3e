"""The webhook sensors: landed events -> one run per batch -> documents in the warehouse.

Events go through the real receiver into the real landing store under the data
directory; ticks run through ``build_sensor_context`` against the loaded definitions; the
requested run is executed as the daemon would launch it (the implicit asset job, the
request's selection and tags, the definitions' resources).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.cli.status import unprocessed_counts
from sophia_pipeline.definitions import defs
from sophia_pipeline.defs.webhook_sensors import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    sensor_name,
)
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.store.landing import SQLiteLanding
from sophia_pipeline.webhooks.batches import WebhookBatch
from sophia_pipeline.webhooks.landing import LandingStore
from sophia_pipeline_tests.webhooks.payloads import (
    github_issues,
    github_pull_request,
    github_push,
)
from sophia_pipeline_tests.webhooks.test_batches import (
    PARENT_TS,
    land,
    malformed_slack,
    slack_message,
)


def tick(
    d: dg.Definitions, instance: dg.DagsterInstance, source: str, cursor: str | None
) -> dg.SensorResult:
    sensor = d.resolve_sensor_def(sensor_name(source))
    result = sensor(dg.build_sensor_context(cursor=cursor, instance=instance, definitions=d))
    assert isinstance(result, dg.SensorResult)
    return result


def execute(
    d: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest
) -> dg.ExecuteInProcessResult:
    """The run the daemon would launch for the request."""
    job = d.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=request.asset_selection, tags=request.tags
    )
    assert result.success
    return result


def warehouse() -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(load_settings().duckdb_path), raw_tables=raw_tables())
    wh.ensure_schema()
    return wh


def record_run(
    instance: dg.DagsterInstance, batch: WebhookBatch, status: dg.DagsterRunStatus
) -> dg.DagsterRun:
    """A run of ``batch`` as the daemon would have recorded it."""
    return instance.add_run(
        dg.DagsterRun(
            job_name="__ASSET_JOB", run_id=str(uuid.uuid4()), tags=batch.to_tags(), status=status
        )
    )


# ---------------------------------------------------------------- ticks


@pytest.fixture
def small_batches(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    monkeypatch.setenv("SOPHIA_WEBHOOK_BATCH_EVENTS", "2")
    monkeypatch.setenv("SOPHIA_WEBHOOK_BATCHES_PER_TICK", "5")
    return defs()


def test_one_run_per_batch_and_never_the_same_batch_twice(
    data_dir: Path, small_batches: dg.Definitions
) -> None:
    d, instance = small_batches, dg.DagsterInstance.ephemeral()
    root = load_settings().webhook_landing_dir
    land(root, [("slack", slack_message(f"Ev{i}", f"message {i}"), None) for i in range(5)])
    land(root, [("github", github_issues(), "issues")])

    first = tick(d, instance, "slack", None)
    assert len(first.run_requests) == 3  # 2 + 2 + 1 events
    batches = [WebhookBatch.from_tags(r.tags, "slack") for r in first.run_requests]
    assert [b.size for b in batches if b] == [2, 2, 1]
    for request, batch in zip(first.run_requests, batches, strict=True):
        assert batch is not None and request.run_key == batch.run_key
        assert request.tags[RANGE_START_TAG] == request.tags[RANGE_END_TAG] == "2025-01-10"
        selected = {k.to_user_string() for k in request.asset_selection or []}
        assert {
            "raw/slack_messages",
            "documents/slack",
            "chunks/slack",
            "embeddings/slack",
            "index/vectors",
        } <= selected
        assert not selected & {"raw/github_events", "raw/gong_calls", "documents/github"}
    assert first.cursor == batches[-1].to_cursor

    # The cursor was not saved (the tick is evaluated again): the same run keys, which
    # Dagster turns into no new runs.
    again = tick(d, instance, "slack", None)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in first.run_requests]
    # With the saved cursor: nothing.
    done = tick(d, instance, "slack", first.cursor)
    assert done.run_requests == [] and done.skip_reason is not None
    # A new event: one batch, right after the last one.
    land(root, [("slack", slack_message("Ev9", "one more"), None)])
    (more,) = tick(d, instance, "slack", first.cursor).run_requests
    assert WebhookBatch.from_tags(more.tags, "slack") == WebhookBatch(
        "slack", first.cursor, more.tags["sophia/webhook_to"], 1
    )
    # Each source has its own sensor and batches.
    (issue,) = tick(d, instance, "github", None).run_requests
    assert "raw/github_events" in {k.to_user_string() for k in issue.asset_selection or []}


def test_waits_for_a_batch_in_flight_and_resumes_after_launched_runs(
    data_dir: Path, small_batches: dg.Definitions
) -> None:
    d, instance = small_batches, dg.DagsterInstance.ephemeral()
    root = load_settings().webhook_landing_dir
    land(root, [("slack", slack_message(f"Ev{i}", f"message {i}"), None) for i in range(4)])
    a, b = (
        WebhookBatch.from_tags(r.tags, "slack")
        for r in tick(d, instance, "slack", None).run_requests
    )
    assert a is not None and b is not None

    # Batch a's run is still going: nothing new may start over the same days.
    running = record_run(instance, a, dg.DagsterRunStatus.STARTED)
    waiting = tick(d, instance, "slack", a.to_cursor)
    assert waiting.run_requests == [] and running.run_id in str(waiting.skip_reason)
    assert waiting.cursor is None  # left as it was
    instance.delete_run(running.run_id)

    # A tick launched b, then died before saving its cursor; two more events landed
    # since. The next tick resumes after b instead of cutting a longer batch (new key).
    record_run(instance, b, dg.DagsterRunStatus.SUCCESS)
    land(root, [("slack", slack_message(f"Ev{i}", f"message {i}"), None) for i in (4, 5)])
    (c,) = tick(d, instance, "slack", a.to_cursor).run_requests
    assert c.tags["sophia/webhook_from"] == b.to_cursor


# ---------------------------------------------------------------- end to end


def test_slack_batch_run_loads_the_thread_and_dead_letters_the_malformed(data_dir: Path) -> None:
    d, instance = defs(), dg.DagsterInstance.ephemeral()
    settings = load_settings()
    land(
        settings.webhook_landing_dir,
        [
            ("slack", slack_message("EvP", "Acme asked about pricing"), None),
            ("slack", slack_message("EvR", "We quoted 10k", "1736500100.000300", PARENT_TS), None),
            ("slack", malformed_slack("EvBAD"), None),
        ],
    )
    wh = warehouse()
    assert unprocessed_counts(settings, wh) == {"slack": 3, "github": 0}

    (request,) = tick(d, instance, "slack", None).run_requests
    execute(d, instance, request)

    docs = wh.query("SELECT * FROM staging.documents WHERE source = 'slack'")
    (thread,) = docs.to_dict("records")
    assert thread["doc_id"] == f"slack:thread:C123ABC456-{PARENT_TS}"
    assert json.loads(thread["attributes"])["message_count"] == 2
    assert "Acme asked about pricing" in thread["text"] and "We quoted 10k" in thread["text"]
    assert str(thread["partition_date"])[:10] == "2025-01-10"
    (dead,) = wh.query("SELECT * FROM ops.dead_letters").to_dict("records")
    assert dead["source"] == "slack" and "EvBAD" in dead["error"]
    assert "event.channel: Field required" in dead["error"]
    assert dead["source_file"].endswith("landing.sqlite3#slack") and dead["line_no"] == 3
    assert unprocessed_counts(settings, wh) == {"slack": 0, "github": 0}
    assert wh.count("raw.slack_messages") == 2

    # The same batch processed by a second run (a retry, a manual re-execution): the raw
    # layer keeps one version per content hash and the dead letter is counted again.
    execute(d, instance, request)
    assert wh.count("raw.slack_messages") == 2
    assert wh.query("SELECT attempts FROM ops.dead_letters")["attempts"].tolist() == [2]
    assert len(wh.query("SELECT doc_id FROM staging.documents WHERE source = 'slack'")) == 1
    # Ticks after the run: from the saved cursor nothing; from the unsaved one the same
    # run key again, which Dagster never launches twice.
    assert tick(d, instance, "slack", request.tags["sophia/webhook_to"]).run_requests == []
    assert [r.run_key for r in tick(d, instance, "slack", None).run_requests] == [request.run_key]


def test_a_lone_surrogate_in_a_slack_event_is_dead_lettered_and_later_events_flow(
    data_dir: Path,
) -> None:
    """The cut emoji used to make every tick raise, so the cursor never moved."""
    d, instance = defs(), dg.DagsterInstance.ephemeral()
    settings = load_settings()
    root = settings.webhook_landing_dir
    land(
        root,
        [
            ("slack", slack_message("EvP", "Acme asked about pricing"), None),
            ("slack", slack_message("EvCUT", "launch \ud83d", "1736500050.000100"), None),
        ],
    )
    first = tick(d, instance, "slack", None)
    (request,) = first.run_requests
    execute(d, instance, request)
    wh = warehouse()
    (dead,) = wh.query("SELECT * FROM ops.dead_letters").to_dict("records")
    assert "EvCUT" in dead["error"] and "unpaired surrogate" in dead["error"]
    assert dead["line_no"] == 2 and json.loads(dead["payload"])["event"]["text"] == "launch \ud83d"
    assert wh.count("raw.slack_messages") == 1

    # A later event: the next tick starts after the bad one, and it loads.
    land(
        root,
        [("slack", slack_message("EvR", "We quoted 10k", "1736500100.000300", PARENT_TS), None)],
    )
    (later,) = tick(d, instance, "slack", first.cursor).run_requests
    assert later.tags["sophia/webhook_from"] == request.tags["sophia/webhook_to"]
    execute(d, instance, later)
    assert wh.count("raw.slack_messages") == 2
    assert unprocessed_counts(settings, wh) == {"slack": 0, "github": 0}


def test_github_batch_run_loads_pull_request_and_issue_documents(data_dir: Path) -> None:
    d, instance = defs(), dg.DagsterInstance.ephemeral()
    settings = load_settings()
    land(
        settings.webhook_landing_dir,
        [
            ("github", github_push(), "push"),
            ("github", github_pull_request(), "pull_request"),
            ("github", github_issues(), "issues"),
        ],
    )
    wh = warehouse()
    assert unprocessed_counts(settings, wh)["github"] == 3

    (request,) = tick(d, instance, "github", None).run_requests
    assert request.tags[RANGE_START_TAG] == request.tags[RANGE_END_TAG]  # all received today
    execute(d, instance, request)

    ids = set(wh.query("SELECT doc_id FROM staging.documents WHERE source = 'github'")["doc_id"])
    assert ids == {
        "github:pull_request:octo-org/sophia/pull/42",
        "github:issue:octo-org/sophia/issues/12",
    }
    assert wh.count("raw.github_events") == 3  # the push too, though it makes no document
    assert wh.count("ops.dead_letters") == 0
    assert unprocessed_counts(settings, wh) == {"slack": 0, "github": 0}


@pytest.mark.slow
def test_a_committed_batch_prunes_what_is_consumed_and_past_retention(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_LANDING_RETENTION_HOURS", "1")
    d, instance = defs(), dg.DagsterInstance.ephemeral()
    root = load_settings().webhook_landing_dir
    two_hours_ago = LandingStore(root, clock=lambda: time.time() - 2 * 3600)
    with two_hours_ago:
        for i in range(3):
            payload = slack_message(f"Ev{i}", f"message {i}")
            assert two_hours_ago.append("slack", f"Ev{i}", "message", payload, {})
    land(root, [("slack", slack_message("EvNew", "landed just now", "1736500100.000300"), None)])
    (request,) = tick(d, instance, "slack", None).run_requests
    execute(d, instance, request)
    # All four consumed; only the three older than the retention window are gone.
    assert [e.id for e in SQLiteLanding(root).read_after("slack", None, 10)[0]] == ["EvNew"]
    assert warehouse().count("raw.slack_messages") == 4


def test_a_batch_run_whose_worker_died_is_failed_by_run_monitoring(
    data_dir: Path, small_batches: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default launcher cannot check a worker's health: a batch run whose worker was
    killed would stay STARTED for good, and the source's sensor would wait on it forever.
    The batch's max-runtime tag lets Dagster's run monitoring fail it."""
    import logging

    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._daemon.monitoring import run_monitoring

    from sophia_pipeline.defs.webhook_sensors import BATCH_RUN_MAX_RUNTIME_S

    d, instance = small_batches, dg.DagsterInstance.ephemeral()
    land(load_settings().webhook_landing_dir, [("slack", slack_message("Ev1", "hi"), None)])
    (request,) = tick(d, instance, "slack", None).run_requests
    run = instance.add_run(
        dg.DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()), tags=request.tags)
    )
    instance.report_dagster_event(
        DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name), run.run_id
    )
    # ... and its worker is SIGKILLed: nothing reports again.
    skipped = tick(d, instance, "slack", None).skip_reason
    assert skipped is not None
    assert skipped.skip_message == f"run {run.run_id} writing slack data is in flight"
    record = instance.get_run_record_by_id(run.run_id)
    assert record is not None and record.start_time is not None
    later = record.start_time + BATCH_RUN_MAX_RUNTIME_S + 1
    monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda: later)
    run_monitoring.check_run_timeout(instance, record, logging.getLogger("test"), 0)
    dead = instance.get_run_by_id(run.run_id)
    assert dead is not None and dead.status == dg.DagsterRunStatus.FAILURE
    after = tick(d, instance, "slack", None).skip_reason
    assert after is None or "in flight" not in (after.skip_message or "")
