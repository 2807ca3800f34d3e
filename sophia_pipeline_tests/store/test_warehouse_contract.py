"""One contract, every warehouse that runs here: DuckDB and Snowflake through fakesnow
(the ``warehouse`` fixture in conftest.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest

from sophia_pipeline.sources.registry import SPECS, raw_tables
from sophia_pipeline.store.warehouse import Warehouse, ddl_statements, tables_in_ddl
from sophia_pipeline_tests.store.raw_shape import RAW_COLUMNS


def docs(ids: list[str], day: date) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "doc_id": i,
                "source": "gong",
                "entity_type": "call",
                "source_id": i,
                "kind": "conversation",
                "text": f"text {i}",
                "occurred_at": datetime(day.year, day.month, day.day, 12),
                "deleted": False,
                "partition_date": day,
            }
            for i in ids
        ]
    )


def test_every_ddl_table_exists_and_starts_empty(warehouse: Warehouse) -> None:
    counts = warehouse.table_counts()
    assert set(counts) == set(tables_in_ddl(raw_tables=raw_tables()))
    assert "gong_intelligence.call_transcripts" in counts
    assert all(n == 0 for n in counts.values())


def test_every_sources_raw_table_exists_after_ensure_schema(warehouse: Warehouse) -> None:
    counts = warehouse.table_counts()
    for spec in SPECS.values():
        assert counts[spec.raw_table] == 0, spec.name
        assert (
            list(warehouse.query(f"SELECT * FROM {spec.raw_table} LIMIT 0").columns) == RAW_COLUMNS
        )


def test_schema_creation_is_idempotent(warehouse: Warehouse) -> None:
    warehouse.ensure_schema()
    warehouse.ensure_schema()


def test_replace_window_replaces_only_the_window(warehouse: Warehouse) -> None:
    d1, d2 = date(2026, 9, 1), date(2026, 9, 2)
    warehouse.insert("staging.documents", docs(["a", "b"], d1))
    warehouse.insert("staging.documents", docs(["c"], d2))
    warehouse.replace_window("staging.documents", docs(["a2"], d1), "partition_date", d1, d2)
    got = warehouse.query("SELECT doc_id FROM staging.documents ORDER BY doc_id")
    assert list(got["doc_id"]) == ["a2", "c"]
    # again: same result, nothing duplicated
    warehouse.replace_window("staging.documents", docs(["a2"], d1), "partition_date", d1, d2)
    assert warehouse.count("staging.documents") == 2


def test_replace_keys_upserts(warehouse: Warehouse) -> None:
    d = date(2026, 9, 1)
    warehouse.replace_keys("staging.documents", docs(["a", "b"], d), "doc_id")
    changed = docs(["b"], d).assign(text="new b")
    warehouse.replace_keys("staging.documents", changed, "doc_id")
    got = warehouse.query("SELECT doc_id, text FROM staging.documents ORDER BY doc_id")
    assert list(got["text"]) == ["text a", "new b"]


def test_parameters_are_values_not_sql(warehouse: Warehouse) -> None:
    warehouse.insert(
        "staging.documents", docs(["x'); DROP TABLE staging.documents; --"], date(2026, 9, 1))
    )
    got = warehouse.query(
        "SELECT doc_id FROM staging.documents WHERE doc_id = ?",
        ["x'); DROP TABLE staging.documents; --"],
    )
    assert len(got) == 1
    assert warehouse.count("staging.documents") == 1


def test_binary_round_trip(warehouse: Warehouse) -> None:
    blob = bytes(range(256)) * 6
    warehouse.insert(
        "embeddings.embedding_cache",
        pd.DataFrame(
            [
                {
                    "content_hash": "h",
                    "model_id": "m",
                    "dim": 384,
                    "vector": blob,
                    "created_at": datetime(2026, 1, 1),
                }
            ]
        ),
    )
    got = warehouse.query(
        "SELECT vector FROM embeddings.embedding_cache WHERE content_hash = ?", ["h"]
    )
    assert bytes(got["vector"].iloc[0]) == blob


def test_failed_write_leaves_the_table_unchanged(warehouse: Warehouse) -> None:
    d = date(2026, 9, 1)
    warehouse.insert("staging.documents", docs(["a"], d))
    bad = docs(["b"], d).assign(source=None)  # violates NOT NULL
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own error type
        warehouse.replace_window("staging.documents", bad, "partition_date", d, date(2026, 9, 2))
    assert list(warehouse.query("SELECT doc_id FROM staging.documents")["doc_id"]) == ["a"]


def test_unknown_table_names_are_refused(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError):
        warehouse.count("staging.documents; DROP TABLE x")


def test_ddl_renders_for_both_dialects() -> None:
    snow = ddl_statements("snowflake")
    duck = ddl_statements("duckdb")
    assert len(snow) == len(duck) > 5
    assert any("CLUSTER BY" in s for s in snow)
    assert not any("CLUSTER BY" in s for s in duck)


def test_transaction_commits_every_table_or_none(warehouse: Warehouse) -> None:
    row = {"source": "s", "cursor": "c1", "run_id": "r", "committed_at": datetime(2026, 1, 1)}
    with warehouse.transaction() as tx:
        tx.insert("ops.webhook_cursors", [row])
        tx.execute("DELETE FROM ops.webhook_cursors WHERE source = ?", ["nobody"])
    with pytest.raises(RuntimeError), warehouse.transaction() as tx:
        tx.insert("ops.webhook_cursors", [{**row, "cursor": "c2"}])
        raise RuntimeError("crash between two writes")
    got = warehouse.query("SELECT cursor FROM ops.webhook_cursors")
    assert list(got["cursor"]) == ["c1"]
    with warehouse.transaction() as tx:
        assert tx.rows("SELECT cursor FROM ops.webhook_cursors WHERE source = ?", ["s"]) == [
            ("c1",)
        ]


def test_existing_tables_lists_what_ensure_schema_made(warehouse: Warehouse) -> None:
    existing = warehouse.existing_tables()
    assert {"raw.gong_calls", "staging.chunks", "ops.dead_letters"} <= existing
    counts = warehouse.table_counts(existing)
    assert counts == warehouse.table_counts()
    assert warehouse.table_counts(set()) == dict.fromkeys(counts, 0)


def test_table_counts_counts_each_table_in_one_statement(warehouse: Warehouse) -> None:
    d = date(2026, 9, 1)
    warehouse.insert("staging.documents", docs(["a", "b", "c"], d))
    warehouse.execute(
        "INSERT INTO ops.webhook_cursors (source, cursor, run_id, committed_at) "
        "VALUES ('slack', 'c1', 'r1', CURRENT_TIMESTAMP)"
    )
    statements: list[str] = []
    query = warehouse.query

    def counted_query(sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        statements.append(sql)
        return query(sql, params)

    # Pydantic models refuse attribute assignment: patch the instance's dict directly.
    object.__setattr__(warehouse, "query", counted_query)
    counts = warehouse.table_counts()
    assert len(statements) == 1
    assert counts["staging.documents"] == 3 and counts["ops.webhook_cursors"] == 1
    assert sum(counts.values()) == 4
    # Tables given as absent are not queried (a reader creates nothing), and count 0.
    statements.clear()
    present = {"staging.documents"}
    assert warehouse.table_counts(present) == {
        t: 3 if t == "staging.documents" else 0 for t in counts
    }
    assert len(statements) == 1 and "ops.webhook_cursors" not in statements[0]
