"""Every file in store/sql/ runs: as Snowflake SQL through fakesnow, and as its DuckDB
rendering (store/warehouse.py: ddl_statements) in DuckDB. Each file runs after the files before
it (its dependencies), twice (the DDL is re-run at every step start). The raw-table template
(10_raw.sql) is rendered for every registered source's raw table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb
import pytest
import sqlglot

from sophia_pipeline.sources.registry import SPECS, raw_tables
from sophia_pipeline.store.warehouse import (
    DDL_DIR,
    RAW_TABLE_TEMPLATE,
    ddl_files,
    ddl_statements,
    render_raw_tables,
    tables_in_ddl,
)
from sophia_pipeline_tests.store.raw_shape import RAW_COLUMNS

SQL_FILES = ddl_files()
RAW_TABLES = raw_tables()
DASHBOARD = "executive_intelligence.executive_dashboard_daily"


def statements_of(path: Traversable, dialect: str, tmp: Path) -> tuple[list[str], list[str]]:
    """(statements of the files before ``path``, statements of ``path``) for ``dialect``."""
    before, upto = tmp / f"before-{dialect}", tmp / f"upto-{dialect}"
    before.mkdir()
    upto.mkdir()
    for f in SQL_FILES:
        if f.name < path.name:
            (before / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
        if f.name <= path.name:
            (upto / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    prior = ddl_statements(dialect, before, RAW_TABLES)
    everything = ddl_statements(dialect, upto, RAW_TABLES)
    assert everything[: len(prior)] == prior
    return prior, everything[len(prior) :]


def test_there_are_sql_files() -> None:
    names = {p.name for p in SQL_FILES}
    assert {"60_executive_intelligence.sql", "65_executive_dashboard.sql"} <= names


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_file_runs_in_duckdb(path: Traversable, tmp_path: Path) -> None:
    prior, own = statements_of(path, "duckdb", tmp_path)
    assert own, f"{path.name} has no statements"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for stmt in prior + own + own:
        con.execute(stmt)
    con.close()


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_file_runs_in_fakesnow(path: Traversable, tmp_path: Path) -> None:
    import fakesnow
    import snowflake.connector

    prior, own = statements_of(path, "snowflake", tmp_path)
    with fakesnow.patch():
        con = snowflake.connector.connect(database="SOPHIA")
        cur = con.cursor()
        cur.execute("CREATE DATABASE IF NOT EXISTS SOPHIA")
        cur.execute("USE DATABASE SOPHIA")
        for stmt in prior + own + own:
            cur.execute(stmt)
        con.close()


def test_the_raw_template_renders_one_snowflake_table_per_source() -> None:
    template = (DDL_DIR / RAW_TABLE_TEMPLATE).read_text(encoding="utf-8")
    statements = sqlglot.parse(render_raw_tables(template, RAW_TABLES), read="snowflake")
    creates = [s for s in statements if s]
    assert len(creates) == len(SPECS) == len(set(RAW_TABLES))
    for stmt, spec in zip(creates, SPECS.values(), strict=True):
        assert isinstance(stmt, sqlglot.exp.Create) and stmt.kind == "TABLE"
        table = stmt.this.this
        assert f"{table.db}.{table.name}" == spec.raw_table
        columns = [c.name for c in stmt.this.expressions]
        assert columns == RAW_COLUMNS
        rendered = stmt.sql(dialect="snowflake")
        assert f"CREATE TABLE IF NOT EXISTS {spec.raw_table} (" in rendered
        assert "CLUSTER BY (partition_date)" in rendered
        # The Snowflake rendering parses back to the same statement.
        assert sqlglot.parse_one(rendered, read="snowflake") == stmt


def test_the_raw_tables_are_exactly_the_names_passed_in() -> None:
    without = tables_in_ddl()
    assert not [t for t in without if t.startswith("raw.")]
    assert tables_in_ddl(raw_tables=RAW_TABLES) == [*RAW_TABLES, *without]
    assert tables_in_ddl(raw_tables=["raw.toy_records"]) == ["raw.toy_records", *without]
    with pytest.raises(ValueError):
        ddl_statements("duckdb", raw_tables=["raw.x; DROP TABLE staging.documents"])


def test_dynamic_table_is_a_view_in_duckdb_and_a_dynamic_table_in_snowflake() -> None:
    snow = [s for s in ddl_statements("snowflake") if DASHBOARD in s]
    duck = [s for s in ddl_statements("duckdb") if DASHBOARD in s]
    assert len(snow) == len(duck) == 1
    assert "CREATE DYNAMIC TABLE IF NOT EXISTS" in snow[0]
    assert "TARGET_LAG='5 minutes'" in snow[0] and "REFRESH_MODE=INCREMENTAL" in snow[0]
    assert duck[0].startswith(f"CREATE OR REPLACE VIEW {DASHBOARD} AS SELECT")


def test_dashboard_view_aggregates_the_last_30_days(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for stmt in ddl_statements("duckdb"):
        con.execute(stmt)
    today = datetime.now(UTC).date()
    at = [datetime.combine(today - timedelta(days=d), datetime.min.time()) for d in (0, 1, 40)]
    calls = [  # (call, started, account, sentiment)
        ("c1", at[0], "A", 0.5),
        ("c2", at[0], "A", -0.1),
        ("c3", at[0], "B", 0.2),
        ("c4", at[1], "C", 0.4),
        ("c5", at[2], "D", 0.9),  # 40 days ago: outside the window
    ]
    for call_id, started, account, sentiment in calls:
        con.execute(
            "INSERT INTO gong_intelligence.call_transcripts (call_id, doc_id, call_date, "
            "started_at, account_id, turn_count, transcript, transcript_chunks, "
            "sentiment_score, updated_at) VALUES (?, ?, ?, ?, ?, 1, 't', 1, ?, ?)",
            [call_id, call_id, started.date(), started, account, sentiment, started],
        )
    mentions = [("m1", "Clari", at[0]), ("m2", "Clari", at[0]), ("m3", "Gong", at[0])]
    mentions += [("m4", "Zoho", at[1]), ("m5", "Zoho", at[2])]
    for mention_id, competitor, when in mentions:
        con.execute(
            "INSERT INTO competitive_intelligence.competitor_mentions (mention_id, chunk_id, "
            "doc_id, source, competitor, alias, matched_text, threat_level, mentioned_at, "
            "partition_date) VALUES (?, 'c', 'd', 'slack', ?, ?, ?, 2, ?, ?)",
            [mention_id, competitor, competitor, competitor, when, when.date()],
        )
    rows = con.execute(f"SELECT * FROM {DASHBOARD} ORDER BY activity_date").fetchall()
    # today: 3 calls, mean(0.5, -0.1, 0.2) = 0.2, accounts A and B, Clari + Gong, 3 mentions
    assert rows == [
        (today - timedelta(days=1), 1, pytest.approx(0.4), 1, 1, 1),
        (today, 3, pytest.approx(0.2), 2, 2, 3),
    ]
