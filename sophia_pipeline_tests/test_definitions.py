"""The code location loads, per profile, and its shape is a visible diff when it changes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.definitions import defs
from sophia_pipeline.defs.resources import PROD_REQUIRED, MissingCredentialError

EXPECTED_GONG_SLICE = {
    "raw/gong_calls": "raw",
    "documents/gong": "documents",
    "chunks/gong": "chunks",
    "embeddings/gong": "embeddings",
    "index/vectors": "index",
    "intelligence/call_transcripts": "intelligence",
}


def graph(d: dg.Definitions):  # type: ignore[no-untyped-def]
    return d.resolve_asset_graph()


def test_local_profile_loads_with_the_slice_lineage(data_dir: Path) -> None:
    d = defs()
    g = graph(d)
    groups = {k.to_user_string(): g.get(k).group_name for k in g.get_all_asset_keys()}
    for key, group in EXPECTED_GONG_SLICE.items():
        assert groups[key] == group
    parents = {
        k.to_user_string(): {p.to_user_string() for p in g.get(k).parent_keys}
        for k in g.get_all_asset_keys()
    }
    assert parents["documents/gong"] == {"raw/gong_calls"}
    assert parents["chunks/gong"] == {"documents/gong"}
    assert parents["embeddings/gong"] == {"chunks/gong"}
    assert "embeddings/gong" in parents["index/vectors"]
    assert parents["intelligence/call_transcripts"] >= {"documents/gong", "chunks/gong"}


def test_every_partitioned_asset_shares_one_definition_and_single_run_backfills(
    data_dir: Path,
) -> None:
    d = defs()
    for assets_def in d.assets or []:
        if not isinstance(assets_def, dg.AssetsDefinition) or not assets_def.partitions_def:
            continue
        for key in assets_def.keys:
            assert assets_def.partitions_def == d.resolve_asset_graph().get(key).partitions_def
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run()


def test_io_assets_have_retry_policies_owners_and_kinds(data_dir: Path) -> None:
    g = graph(defs())
    for key in g.get_all_asset_keys():
        node = g.get(key)
        assert node.owners, key
        assert {"duckdb", "lancedb"} & set(node.kinds), key
        assert node.description, key
    for a in defs().assets or []:
        assert isinstance(a, dg.AssetsDefinition)
        policy = a.op.retry_policy
        assert policy is not None, a.key
        assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter is not None, a.key


def test_prod_profile_names_every_missing_credential(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    for name in PROD_REQUIRED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "acct")
    with pytest.raises(Exception) as info:
        defs()
    text = str(info.value) + "".join(str(a) for a in info.value.args)
    chain = info.value
    while chain.__cause__ is not None and not isinstance(chain, MissingCredentialError):
        chain = chain.__cause__
    message = str(chain) if isinstance(chain, MissingCredentialError) else text
    assert "SNOWFLAKE_PASSWORD" in message and "PINECONE_API_KEY" in message
    assert "SNOWFLAKE_ACCOUNT" not in message


def test_prod_profile_loads_with_credentials_and_shows_prod_kinds(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    for name in PROD_REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    g = graph(defs())
    assert "snowflake" in g.get(dg.AssetKey.from_user_string("raw/gong_calls")).kinds
    assert "pinecone" in g.get(dg.AssetKey.from_user_string("index/vectors")).kinds


def test_unknown_profile_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "staging")
    with pytest.raises(Exception, match="SOPHIA_PROFILE"):
        defs()


def test_prod_with_airbyte_draws_the_sync_to_raw_lineage(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    for name in PROD_REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    monkeypatch.setenv("AIRBYTE_WORKSPACE_ID", "ws-1")
    monkeypatch.setenv("AIRBYTE_GONG_CONNECTION_ID", "conn-gong")
    monkeypatch.setenv("AIRBYTE_CLIENT_ID", "client")
    monkeypatch.setenv("AIRBYTE_CLIENT_SECRET", "secret")
    g = graph(defs())
    parents = {
        p.to_user_string()
        for p in g.get(dg.AssetKey.from_user_string("raw/gong_calls")).parent_keys
    }
    assert any(p.startswith("airbyte") for p in parents), parents


def test_the_unpartitioned_index_runs_when_an_embeddings_partition_changes(
    data_dir: Path,
) -> None:
    """index/vectors' condition, evaluated over the real graph: nothing to do at first
    (no inputs yet), requested once a day of embeddings is materialized, then quiet."""
    d = defs()
    index = dg.AssetKey(["index", "vectors"])
    embeddings = dg.AssetKey(["embeddings", "gong"])
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(
            defs=d, instance=instance, asset_selection=dg.AssetSelection.assets(index)
        )
        assert first.get_num_requested(index) == 0
        instance.report_runless_asset_event(
            dg.AssetMaterialization(embeddings, partition="2026-09-01")
        )
        second = dg.evaluate_automation_conditions(
            defs=d,
            instance=instance,
            asset_selection=dg.AssetSelection.assets(index),
            cursor=first.cursor,
        )
        assert second.get_num_requested(index) == 1
        third = dg.evaluate_automation_conditions(
            defs=d,
            instance=instance,
            asset_selection=dg.AssetSelection.assets(index),
            cursor=second.cursor,
        )
        assert third.get_num_requested(index) == 0


def test_local_definitions_import_no_production_client(data_dir: Path) -> None:
    """Every process that loads the location (the UI's code server, each CLI run, each run
    worker) pays for what it imports: locally that is no Snowflake client, which took
    seconds (it came in through a store module and through Dagster's component-type
    discovery of installed libraries), and neither LanceDB nor torch until a step uses
    them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sophia_pipeline.definitions import build_definitions\n"
        "from sophia_pipeline.settings import load_settings\n"
        "build_definitions(load_settings()).resolve_job_def('full_pipeline')\n"
        "heavy = ('dagster_snowflake', 'snowflake.connector', 'pinecone', 'lancedb', 'torch')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
