"""The production instance (deploy/dagster.yaml): valid for Dagster, the same run limits as
the local one, and a materialization against it lands its run and events in PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from sophia_pipeline.definitions import defs
from sophia_pipeline_tests.factories import small_gong_landing
from sophia_pipeline_tests.postgres_server import (
    Postgres,
    fresh_database,
    postgres_server,
    private_server,
)

REPO = Path(__file__).resolve().parents[2]
PROD_YAML = REPO / "deploy" / "dagster.yaml"
DAY = date(2026, 9, 1)


def _pg_env(monkeypatch: pytest.MonkeyPatch, server: Postgres, db: str) -> None:
    for name, value in {
        "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_PORT": str(server.port),
        "DAGSTER_PG_USERNAME": server.user,
        "DAGSTER_PG_PASSWORD": "",  # trust auth; the variable must still exist
        "DAGSTER_PG_DB": db,
        "DAGSTER_K8S_JOB_NAMESPACE": "sophia",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def prod_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROD_YAML, home / "dagster.yaml")
    return home


def test_the_production_instance_config_is_valid_for_dagster(
    prod_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pg_env(monkeypatch, Postgres("127.0.0.1", 5432, "postgres"), "unused")
    config, _ = dagster_instance_config(str(prod_home))
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        assert config[storage]["module"].startswith("dagster_postgres"), storage
        assert config[storage]["config"]["postgres_db"]["password"] == {
            "env": "DAGSTER_PG_PASSWORD"
        }
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_monitoring"]["enabled"] is True


def test_webhook_run_limits_match_the_local_instance() -> None:
    local = yaml.safe_load((REPO / "dagster.yaml").read_text())
    prod = yaml.safe_load(PROD_YAML.read_text())
    limits = prod["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limits == local["concurrency"]["runs"]["tag_concurrency_limits"]
    assert any(limit["key"] == "sophia/webhook_source" for limit in limits)


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    with postgres_server() as pg:
        yield pg


@pytest.mark.slow
def test_a_materialization_lands_its_run_and_events_in_postgres(
    server: Postgres,
    prod_home: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small_gong_landing(data_dir / "landing", DAY, days=1, per_day=2)
    selection = {"raw/gong_calls", "documents/gong"}
    assets = [
        a
        for a in defs().assets or []
        if isinstance(a, dg.AssetsDefinition) and {k.to_user_string() for k in a.keys} & selection
    ]
    assert len(assets) == 2
    with fresh_database(server) as db:
        _pg_env(monkeypatch, server, db)
        with dg.DagsterInstance.from_config(str(prod_home)) as instance:
            result = dg.materialize(
                assets,
                resources=dict(defs().resources or {}),
                instance=instance,
                partition_key=DAY.isoformat(),
            )
            assert result.success
            run_id = result.run_id
        # Read back with plain SQL, not through Dagster: the records are in PostgreSQL.
        with server.connect(db) as con, con.cursor() as cur:
            cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
            assert cur.fetchall() == [("SUCCESS",)]
            cur.execute(
                "SELECT asset_key, partition FROM event_logs "
                "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION' "
                "ORDER BY asset_key",
                (run_id,),
            )
            assert cur.fetchall() == [
                ('["documents", "gong"]', DAY.isoformat()),
                ('["raw", "gong_calls"]', DAY.isoformat()),
            ]
            cur.execute(
                "SELECT count(*) FROM event_logs WHERE run_id = %s "
                "AND dagster_event_type = 'STEP_SUCCESS'",
                (run_id,),
            )
            assert cur.fetchone() == (2,)
        con.close()


@pytest.mark.slow
def test_a_private_server_starts_when_none_is_reachable() -> None:
    """The fallback the suite uses on a machine without a server at :5432 (initdb)."""
    with private_server() as pg, fresh_database(pg) as db:
        con = pg.connect(db)
        with con.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone() == (db,)
        con.close()
