"""A snapshot of the code location's shape: every asset's key, group, deps, partitions,
automation condition, kinds and owners, plus jobs, schedules and sensors (after
dagster-open-platform's ``test_defs.py``). A rename, regroup or new edge shows up as a
readable diff of ``snapshots/asset_graph.json``.

When the change is intended, regenerate the file and commit it with the change:

    SOPHIA_UPDATE_SNAPSHOT=1 PYTHONPATH=$PWD .venv/bin/python -m pytest \
        sophia_pipeline_tests/test_asset_graph_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sophia_pipeline.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def _partitions(p: dg.PartitionsDefinition | None) -> dict[str, Any] | None:
    if p is None:
        return None
    out: dict[str, Any] = {"type": type(p).__name__}
    if isinstance(p, dg.TimeWindowPartitionsDefinition):
        out.update(start=p.start.date().isoformat(), cron=p.cron_schedule, end_offset=p.end_offset)
    return out


def _condition(c: dg.AutomationCondition | None) -> str | None:
    return None if c is None else (c.get_label() or str(c))


def _target(selection: dg.AssetSelection | None, graph: Any) -> list[str] | None:
    if selection is None:
        return None
    return sorted(k.to_user_string() for k in selection.resolve(graph))


def shape(d: dg.Definitions) -> dict[str, Any]:
    graph = d.resolve_asset_graph()
    repo = d.get_repository_def()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "automation_condition": _condition(node.automation_condition),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "executable": node.is_executable,
        }
    jobs = {
        j.name: {"description": j.description}
        for j in sorted(repo.get_all_jobs(), key=lambda j: j.name)
        if not j.name.startswith("__")
    }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "job": s.job_name,
            "default_status": s.default_status.value,
        }
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    }
    sensors = {}
    for s in sorted(repo.sensor_defs, key=lambda s: s.name):
        selection = s.asset_selection if s.has_anonymous_job or s.asset_selection else None
        sensors[s.name] = {
            "type": type(s).__name__,
            "target": _target(selection, graph)
            if selection is not None
            else sorted(t.job_name for t in s.targets),
            "default_status": s.default_status.value,
        }
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors}


@pytest.fixture
def default_start(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The snapshot records the shipped default data start, not the test suite's.
    monkeypatch.delenv("SOPHIA_DATA_START", raising=False)


def test_the_asset_graph_matches_its_snapshot(default_start: None) -> None:
    current = shape(defs())
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("SOPHIA_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(text)
    expected = json.loads(SNAPSHOT.read_text())
    # Compared per section and per asset so pytest prints the entries that changed.
    assert sorted(current["assets"]) == sorted(expected["assets"])
    for key, entry in current["assets"].items():
        assert entry == expected["assets"][key], key
    for section in ("jobs", "schedules", "sensors"):
        assert current[section] == expected[section], section
