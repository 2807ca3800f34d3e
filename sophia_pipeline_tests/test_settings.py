"""The one settings object: built once per load, the only reader of the environment, and
documented variable for variable in the README."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sophia_pipeline import cli
from sophia_pipeline import settings as settings_module
from sophia_pipeline.definitions import FULL_RUN_JOB, defs
from sophia_pipeline.defs.resources import API_CREDENTIALS, PROD_REQUIRED
from sophia_pipeline.settings import (
    EnvironSource,
    Profile,
    Settings,
    SettingsError,
    current_settings,
    load_settings,
    use_settings,
)

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "sophia_pipeline"


@pytest.fixture
def constructions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts settings constructions: every one reads its source exactly once."""
    calls: list[int] = []
    read = EnvironSource.__call__

    def counting(self: EnvironSource) -> dict[str, Any]:
        calls.append(1)
        return read(self)

    monkeypatch.setattr(EnvironSource, "__call__", counting)
    return calls


def test_loading_the_definitions_builds_the_settings_exactly_once(
    data_dir: Path, constructions: list[int]
) -> None:
    d = defs()
    assert d.assets  # every module loaded...
    assert len(constructions) == 1  # ...from the one settings object the root built


def test_prod_definitions_build_the_settings_exactly_once(
    data_dir: Path, constructions: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    for name in PROD_REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    monkeypatch.setenv("AIRBYTE_WORKSPACE_ID", "ws-1")
    monkeypatch.setenv("AIRBYTE_GONG_CONNECTION_ID", "conn-gong")
    monkeypatch.setenv("ESTUARY_TABLE", "cdc.orders")
    defs()
    assert len(constructions) == 1


def test_the_run_command_builds_the_settings_once(
    data_dir: Path,
    tmp_path: Path,
    constructions: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import dagster as dg

    import sophia_pipeline.cli.status

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    seen: dict[str, Any] = {}

    def execute_in_process(job: dg.JobDefinition, **kwargs: Any) -> SimpleNamespace:
        seen["job"], seen["resources"] = job.name, job.resource_defs
        return SimpleNamespace(run_id="r", success=True)

    monkeypatch.setattr(dg.JobDefinition, "execute_in_process", execute_in_process)
    monkeypatch.setattr(
        sophia_pipeline.cli.status,
        "collect_status",
        lambda s: {"profile": "x", "tables": {}, "vectors": 0},
    )
    # The command sets it for its own process; restored after the test.
    monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    assert cli.main(["run", "--start", "2026-09-01", "--end", "2026-09-01"]) == 0
    assert seen["job"] == FULL_RUN_JOB and "warehouse" in seen["resources"]
    assert len(constructions) == 1
    assert (tmp_path / "home" / "dagster.yaml").exists()  # DAGSTER_HOME, from the settings


def test_current_settings_are_the_roots_during_a_load_and_read_late_otherwise(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = Settings(profile=Profile.PROD, data_dir=data_dir / "elsewhere")
    with use_settings(mine):
        assert current_settings() is mine
    # Outside a load: the environment as it is now (no module purging between profiles).
    assert current_settings().profile is Profile.LOCAL
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    assert current_settings().profile is Profile.PROD


def test_an_explicit_environment_is_the_only_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")
    s = load_settings({"SOPHIA_DATA_DIR": "/srv/sophia", "SOPHIA_ALERT_LOOKBACK_DAYS": "3"})
    assert s.profile is Profile.LOCAL and s.redis_url is None
    assert s.data_dir == Path("/srv/sophia") and s.alerts.lookback_days == 3
    assert s.data_start == date(2026, 8, 26)


def test_defaults_empty_values_and_secrets() -> None:
    s = load_settings({"SNOWFLAKE_PASSWORD": "hunter2-pw", "SNOWFLAKE_USER": "  ", "X": "y"})
    assert s.unset(("SNOWFLAKE_PASSWORD", "SNOWFLAKE_USER")) == ["SNOWFLAKE_USER"]
    assert "hunter2-pw" not in repr(s) and "hunter2-pw" not in str(s.model_dump())
    assert s.webhooks.batch_events == 500 and s.airbyte.raw_schema == "airbyte_internal"
    assert s.data_dir == Path(".sophia").resolve()
    with pytest.raises(KeyError):
        s.unset(("NOT_A_SETTING",))


def test_invalid_values_name_their_variable() -> None:
    with pytest.raises(SettingsError, match=r"SOPHIA_PROFILE='staging' is not one of: local, prod"):
        load_settings({"SOPHIA_PROFILE": "Staging"})
    with pytest.raises(SettingsError, match="SOPHIA_WEBHOOK_BATCH_EVENTS='0'"):
        load_settings({"SOPHIA_WEBHOOK_BATCH_EVENTS": "0"})
    with pytest.raises(SettingsError, match="SOPHIA_DATA_START"):
        load_settings({"SOPHIA_DATA_START": "soon"})


def test_every_credential_the_resources_check_is_a_setting() -> None:
    names = set(Settings.variables())
    assert set(PROD_REQUIRED) <= names
    assert {n for creds in API_CREDENTIALS.values() for n in creds} <= names


def test_every_env_var_passed_to_a_resource_is_a_setting() -> None:
    passed = {
        m.group(1)
        for path in PACKAGE.rglob("*.py")
        for m in re.finditer(r'EnvVar\("([A-Z0-9_]+)"\)', path.read_text())
    }
    assert passed and passed <= set(Settings.variables())


def _environ_reads(path: Path) -> list[int]:
    """Lines of ``path`` that read ``os.environ``/``os.getenv`` (writes are allowed: they
    build the environment Dagster and child processes see)."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    reads = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        if node.value.id != "os" or node.attr not in {"environ", "getenv", "environb"}:
            continue
        parent = parents.get(node)
        written = isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store)
        defaulted = isinstance(parent, ast.Attribute) and parent.attr == "setdefault"
        if not (written or defaulted):
            reads.append(node.lineno)
    return reads


def test_only_settings_reads_the_environment() -> None:
    found = {
        str(p.relative_to(REPO)): lines
        for p in PACKAGE.rglob("*.py")
        if p != Path(settings_module.__file__) and (lines := _environ_reads(p))
    }
    assert found == {}


# ---------------------------------------------------------------- the README's tables

VARIABLE_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|")


def readme_configuration() -> dict[str, str]:
    """Variable -> default cell, from the tables of the README's Configuration section."""
    text = (REPO / "README.md").read_text()
    start = text.index("\n## Configuration\n")
    end = text.find("\n## ", start + 1)
    rows: dict[str, str] = {}
    for line in text[start : end if end != -1 else None].splitlines():
        m = VARIABLE_ROW.match(line.strip())
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} is listed twice"
            rows[m.group(1)] = m.group(2).strip()
    return rows


def test_readme_configuration_tables_list_exactly_the_settings() -> None:
    documented = readme_configuration()
    variables = Settings.variables()
    assert sorted(documented) == sorted(variables)
    for name, field in variables.items():
        default = field.default
        if default is None:
            assert "unset" in documented[name], (name, documented[name])
            continue
        shown = str(default)
        if isinstance(default, Profile):
            shown = default.value
        elif isinstance(default, float) and default.is_integer():
            shown = str(int(default))
        assert f"`{shown}`" in documented[name], (name, shown, documented[name])
