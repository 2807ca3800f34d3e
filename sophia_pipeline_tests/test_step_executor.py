"""Steps on Kubernetes: the executor follows SOPHIA_STEP_EXECUTOR, and the embedding steps
carry resources dagster-k8s accepts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster_k8s.job import get_user_defined_k8s_config

from sophia_pipeline.definitions import defs
from sophia_pipeline.settings import SettingsError, load_settings


def _executor_name(d: dg.Definitions) -> str:
    executor = d.executor
    assert isinstance(executor, dg.ExecutorDefinition)
    return executor.name


def test_multiprocess_by_default_and_k8s_when_asked(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _executor_name(defs()) == "multiprocess"
    monkeypatch.setenv("SOPHIA_STEP_EXECUTOR", "k8s")
    assert _executor_name(defs()) == "k8s"


def test_an_unknown_executor_is_an_error_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="SOPHIA_STEP_EXECUTOR"):
        load_settings({"SOPHIA_STEP_EXECUTOR": "ray"})


def test_every_embedding_step_asks_dagster_k8s_for_its_own_resources(data_dir: Path) -> None:
    graph = defs().resolve_asset_graph()
    embed_keys = [k for k in graph.get_all_asset_keys() if k.path[0] == "embeddings"]
    assert len(embed_keys) >= 7  # one per source
    for key in embed_keys:
        op_tags = graph.get(key).assets_def.op.tags
        # The parser dagster-k8s itself uses for step pods: it validates the JSON's schema.
        config = get_user_defined_k8s_config(op_tags)
        resources = config.container_config["resources"]
        assert resources["limits"]["memory"] and resources["requests"]["cpu"], key
    other = [k for k in graph.get_all_asset_keys() if k.path[0] == "chunks"]
    assert other and all("dagster-k8s/config" not in graph.get(k).assets_def.op.tags for k in other)
