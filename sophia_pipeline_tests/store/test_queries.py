"""Every store query binds and runs on both engines (DuckDB, and Snowflake SQL through
fakesnow), and the small writes that state lives in round-trip."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from sophia_pipeline.sources.landing import Rejected
from sophia_pipeline.store import executive, external, intelligence, ops, raw, staging
from sophia_pipeline.store.warehouse import Warehouse

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def test_reads_of_empty_tables(warehouse: Warehouse) -> None:
    frames = {
        "deals": staging.deal_documents(warehouse),
        "companies": staging.company_documents(warehouse),
        "issues": staging.issue_documents(warehouse),
        "prs": staging.pull_request_documents(warehouse),
        "spans": staging.chunk_spans_of_window_documents(warehouse, D1, D2),
        "gong_mentions": intelligence.gong_mentions(warehouse, D1, D2),
        "first_mentions": intelligence.first_mention_per_deal(warehouse),
        "mentions_since": intelligence.mentions_since(warehouse, D1),
        "competitor_totals": intelligence.competitor_totals_since(warehouse, D1),
        "competitor_days": intelligence.competitor_days_since(warehouse, D1),
        "calls": intelligence.calls_between(warehouse, D1, D2),
        "call_summary": intelligence.call_summary(warehouse, "c1"),
        "kpi_days": executive.kpi_rows_per_day(warehouse, D1, D2),
        "kpis_between": executive.kpi_rollups_between(warehouse, D1, D2),
        "kpis_up_to": executive.kpi_rollups_up_to(warehouse, D2),
        "llm_usage": executive.llm_usage_between(warehouse, D1, D2),
        "dashboard": executive.dashboard_rows(warehouse),
        "replay": ops.dead_letters_to_replay(warehouse, ["gong"], ["x"], 10),
    }
    assert {name: len(df) for name, df in frames.items() if len(df)} == {}
    assert list(frames["calls"].columns) == [
        "call_id",
        "account_id",
        "deal_id",
        "started_at",
        "sentiment_score",
    ]
    assert intelligence.duplicate_calls(warehouse) == 0
    assert raw.record_ids_since(warehouse, "raw.github_events", D1) == set()
    assert ops.manifest_chunk_ids(warehouse) == set()
    assert ops.last_embed_run(warehouse) is None
    assert ops.webhook_cursors(warehouse) == {}
    assert ops.dead_letter_counts(warehouse, "gong", D1, D2) == {}


def test_cursor_and_checkpoint_round_trip(warehouse: Warehouse) -> None:
    assert ops.read_cursor(warehouse, "apollo", "contacts") is None
    assert ops.read_checkpoint(warehouse, "costar", "f.csv") is None
    with warehouse.transaction() as tx:
        ops.set_cursor_tx(tx, "apollo", "contacts", "v1")
        ops.set_checkpoint_tx(tx, "costar", ops.Checkpoint("f.csv", "abc", 5, False), "run1")
    with warehouse.transaction() as tx:
        ops.set_cursor_tx(tx, "apollo", "contacts", "v2")
        ops.set_checkpoint_tx(tx, "costar", ops.Checkpoint("f.csv", "abc", 9, True, 9), "run1")
    assert ops.read_cursor(warehouse, "apollo", "contacts") == "v2"
    assert ops.read_checkpoint(warehouse, "costar", "f.csv") == ops.Checkpoint(
        "f.csv", "abc", 9, True, 9
    )
    ops.commit_webhook_cursor(warehouse, "slack", "c1", "run1")
    ops.commit_webhook_cursor(warehouse, "slack", "c2", "run2")
    assert ops.webhook_cursors(warehouse) == {"slack": "c2"}
    with warehouse.transaction() as tx:
        ops.set_cursor_tx(tx, "github", "acme/app", "e1")
        ops.commit_webhook_cursor(tx, "slack", "c3", "run3")
    assert ops.read_cursors(warehouse, "github") == {"acme/app": "e1"}
    assert ops.read_cursors(warehouse, "apollo") == {"contacts": "v2"}
    assert ops.webhook_cursors(warehouse) == {"slack": "c3"}
    # Inside a transaction that fails, the webhook cursor does not move either.
    with pytest.raises(RuntimeError), warehouse.transaction() as tx:
        ops.commit_webhook_cursor(tx, "slack", "c4", "run4")
        raise RuntimeError("the raw rows failed")
    assert ops.webhook_cursors(warehouse) == {"slack": "c3"}


def test_dead_letters_kept_failing_and_resolved(warehouse: Warehouse) -> None:
    letters = [Rejected(f"{{bad {i}", "gong/calls/2026-03-01.jsonl", i, "boom") for i in (1, 2)]
    assert ops.record_dead_letters(warehouse, "gong", "raw_gong_calls", letters, D1) == 2
    assert ops.dead_letter_counts(warehouse, "gong", D1, D2) == {D1: 2}
    rows = ops.dead_letters_to_replay(warehouse, ["gong"], None, 10).to_dict("records")
    with warehouse.transaction() as tx:
        ops.keep_failing(tx, rows[0], "still boom")
        ops.delete_dead_letters(tx, [rows[1]["dead_letter_id"]])
    left = ops.dead_letters_to_replay(warehouse, None, None, 10)
    assert list(left["error"]) == ["still boom"]
    assert list(left["attempts"]) == [2]
    ops.save_watermarks(warehouse, "gong", D1, D2, {D1: 1})
    assert ops.watermarks(warehouse, "gong", D1, D2) == {D1: 1}


def test_last_embed_run_sums_the_newest_run(warehouse: Warehouse) -> None:
    ops.record_embed_run(warehouse, "r1", "gong_embeddings", "w", 10, 10, 0, 1.0)
    ops.record_embed_run(warehouse, "r2", "gong_embeddings", "w", 10, 0, 10, 1.0)
    ops.record_embed_run(warehouse, "r2", "slack_embeddings", "w", 5, 1, 4, 1.0)
    assert ops.last_embed_run(warehouse) == {
        "run_id": "r2",
        "texts_total": 15,
        "texts_embedded": 1,
        "cache_hits": 14,
    }


def test_newest_value_of_an_external_table(warehouse: Warehouse) -> None:
    value, rows = external.newest_and_rows(warehouse, "ops.source_cursors", "updated_at")
    assert rows == 0 and (value is None or pd.isna(value))
    with warehouse.transaction() as tx:
        ops.set_cursor_tx(tx, "apollo", "contacts", "v1")
    value, rows = external.newest_and_rows(warehouse, "ops.source_cursors", "updated_at")
    assert rows == 1 and isinstance(pd.Timestamp(value).to_pydatetime(), datetime)
    with pytest.raises(ValueError, match="not a column name"):
        external.newest_and_rows(warehouse, "ops.source_cursors", "updated_at; DROP")
