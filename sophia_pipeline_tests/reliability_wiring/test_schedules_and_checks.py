"""Schedules, freshness checks, the dead-letter check and the replay job: they load in
the code location (both profiles, and through ``dagster definitions validate``) and do
what they say."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.definitions import defs
from sophia_pipeline.defs.airbyte import airbyte_asset_key, with_airbyte_lineage
from sophia_pipeline.defs.assets.estuary import build_estuary
from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.defs.checks import DEAD_LETTER_CHECK, freshness_bounds, freshness_checks
from sophia_pipeline.defs.resources import PROD_REQUIRED
from sophia_pipeline.defs.schedules import build_schedules
from sophia_pipeline.resources.source_readers import LandingFilesReader
from sophia_pipeline.settings import EstuarySettings, Profile, Settings, load_settings
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse

REPO = Path(__file__).resolve().parents[2]
AIRBYTE_ENV = {
    "AIRBYTE_WORKSPACE_ID": "ws-1",
    "AIRBYTE_CLIENT_ID": "client",
    "AIRBYTE_CLIENT_SECRET": "secret",
    "AIRBYTE_GONG_CONNECTION_ID": "conn-gong",
    "AIRBYTE_HUBSPOT_CONNECTION_ID": "conn-hubspot",
    "AIRBYTE_LINEAR_CONNECTION_ID": "conn-linear",
}


def settings_with(environ: dict[str, str]) -> Settings:
    """The settings of this process's environment plus ``environ``."""
    return load_settings({**os.environ, **environ})


def schedule(name: str, environ: dict[str, str] | None = None) -> dg.ScheduleDefinition:
    (found,) = [s for s in build_schedules(settings_with(environ or {})) if s.name == name]
    return found


def tick(name: str, when: datetime) -> list[dg.RunRequest]:
    """One tick of the schedule as the code location defines it (its partition keys
    checked against the real job)."""
    repo = defs().get_repository_def()
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=repo)
    result = repo.get_schedule_def(name).evaluate_tick(context)
    return list(result.run_requests or [])


def test_api_poll_schedule_polls_todays_partition_once_per_tick(data_dir: Path) -> None:
    (request,) = tick("api_poll_schedule", datetime(2026, 9, 2, 10, 30, tzinfo=UTC))
    assert request.partition_key == "2026-09-02"
    assert request.run_key == "api_poll:2026-09-02T10:30"
    job = schedule("api_poll_schedule").job
    assert set(job.selection.resolve(defs().resolve_asset_graph())) == {  # type: ignore[union-attr]
        dg.AssetKey.from_user_string("raw/apollo_contacts"),
        dg.AssetKey.from_user_string("raw/github_events"),
    }


def test_costar_schedule_loads_yesterday_and_today(data_dir: Path) -> None:
    requests = tick("costar_batch_schedule", datetime(2026, 9, 2, 6, 30, tzinfo=UTC))
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2026-09-01", "costar:2026-09-01"),
        ("2026-09-02", "costar:2026-09-02"),
    ]
    # The first day of the partitions (the configured data start) has no yesterday.
    start = load_settings().data_start
    first = tick(
        "costar_batch_schedule",
        datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=6, minutes=30),
    )
    assert [r.partition_key for r in first] == [start.isoformat()]


def test_airbyte_schedule_only_in_prod_with_airbyte(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "airbyte_sync_schedule" not in {
        s.name for s in build_schedules(settings_with(AIRBYTE_ENV))
    }
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    for name in PROD_REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    for k, v in AIRBYTE_ENV.items():
        monkeypatch.setenv(k, v)
    (request,) = tick("airbyte_sync_schedule", datetime(2026, 9, 2, 11, tzinfo=UTC))
    assert request.run_key == "airbyte:2026-09-02T11:00"
    statuses = {s.name: s.default_status for s in build_schedules(settings_with(AIRBYTE_ENV))}
    assert set(statuses.values()) == {dg.DefaultScheduleStatus.RUNNING}


def test_local_definitions_hold_the_checks_schedules_and_replay_job(data_dir: Path) -> None:
    d = defs()
    graph = d.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for spec in SPECS.values():
        assert (spec.raw_asset, "freshness_check") in checks
        assert (spec.raw_asset, DEAD_LETTER_CHECK) in checks
    repo = d.get_repository_def()
    assert {"api_poll_schedule", "costar_batch_schedule"} <= {s.name for s in repo.schedule_defs}
    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in repo.schedule_defs)
    assert "raw_freshness_checks_sensor" in {s.name for s in repo.sensor_defs}
    assert repo.has_job("dead_letter_replay")
    assert not any("airbyte" in k.to_user_string() for k in graph.get_all_asset_keys())


def test_prod_definitions_add_airbyte_syncs_upstream_of_raw_and_estuary(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    for name in PROD_REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    for k, v in {**AIRBYTE_ENV, "ESTUARY_TABLE": "cdc.orders"}.items():
        monkeypatch.setenv(k, v)
    d = with_airbyte_lineage(defs(), load_settings())
    graph = d.resolve_asset_graph()
    for source in ("gong", "hubspot", "linear"):
        assert (
            airbyte_asset_key(source)
            in graph.get(dg.AssetKey.from_user_string(SPECS[source].raw_asset)).parent_keys
        )
    estuary = dg.AssetKey(["estuary", "orders"])
    assert graph.get(estuary).is_external and "estuary" in graph.get(estuary).kinds
    assert (estuary, "freshness_check") in {(k.asset_key, k.name) for k in graph.asset_check_keys}
    repo = d.get_repository_def()
    assert {"airbyte_sync_schedule", "estuary_observation_sensor"} <= {
        *(s.name for s in repo.schedule_defs),
        *(s.name for s in repo.sensor_defs),
    }


def test_freshness_check_fails_until_the_raw_asset_materializes(
    data_dir: Path, warehouse: DuckDBWarehouse
) -> None:
    assert freshness_bounds()["costar"] > freshness_bounds()["gong"]
    settings = load_settings()
    raw = [source_assets(spec, settings)[0] for spec in SPECS.values()]
    resources = {
        "warehouse": warehouse,
        **{f"{n}_source": LandingFilesReader(landing_dir=str(data_dir)) for n in SPECS},
    }
    instance = dg.DagsterInstance.ephemeral()
    gong = dg.AssetKey.from_user_string("raw/gong_calls")
    only_checks = dg.AssetSelection.checks(dg.AssetCheckKey(gong, "freshness_check"))

    def freshness() -> bool:
        result = dg.materialize(
            [*raw, *freshness_checks()],
            selection=only_checks,
            instance=instance,
            resources=resources,
        )
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation.passed

    assert not freshness()  # never materialized: overdue
    assert dg.materialize(
        [*raw], selection=[gong], partition_key="2026-09-02", instance=instance, resources=resources
    ).success
    assert freshness()


@pytest.mark.slow  # a subprocess CLI
def test_dagster_definitions_validate_loads_the_workspace(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "SOPHIA_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(home),
        "SOPHIA_PROFILE": "local",
    }
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_estuary_sensor_observes_the_newest_load_once(
    data_dir: Path, warehouse: DuckDBWarehouse
) -> None:
    warehouse.execute("CREATE SCHEMA cdc")
    warehouse.execute("CREATE TABLE cdc.orders (id INTEGER, flow_published_at TIMESTAMP)")
    settings = Settings(
        profile=Profile.PROD, data_dir=data_dir, estuary=EstuarySettings(table="cdc.orders")
    )
    built = build_estuary(settings)
    (sensor,) = [s for s in built.sensors or [] if s.name == "estuary_observation_sensor"]

    def evaluate(cursor: str | None) -> dg.SensorResult | dg.SkipReason:
        context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": warehouse})
        return sensor(context)  # type: ignore[return-value]

    assert isinstance(evaluate(None), dg.SkipReason)  # nothing loaded yet
    warehouse.execute(
        "INSERT INTO cdc.orders VALUES (1, TIMESTAMP '2026-09-02 10:00:00'), "
        "(2, TIMESTAMP '2026-09-02 10:05:00')"
    )
    result = evaluate(None)
    assert isinstance(result, dg.SensorResult)
    (observation,) = result.asset_events
    assert observation.asset_key == dg.AssetKey(["estuary", "orders"])
    loaded = observation.metadata["dagster/last_updated_timestamp"].value
    assert loaded == datetime(2026, 9, 2, 10, 5, tzinfo=UTC).timestamp()
    assert isinstance(evaluate(result.cursor), dg.SkipReason)  # no new load: no event
    local = build_estuary(settings_with({"ESTUARY_TABLE": "cdc.orders"}))
    assert not local.assets and not local.sensors  # no Estuary in the local profile
