"""``status`` on the prod profile talks to the configured services, with the variables'
values: resources used outside a run must have their ``EnvVar``s resolved (before the
fix, the Snowflake connector got ``"SNOWFLAKE_ACCOUNT"`` as the account and failed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import snowflake.connector

from sophia_pipeline.cli.status import collect_status
from sophia_pipeline.defs.resources import PROD_REQUIRED
from sophia_pipeline.settings import load_settings
from sophia_pipeline_tests.pinecone_server import PineconeServer


def test_status_on_prod_uses_the_variables_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fakesnow

    for name in PROD_REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    monkeypatch.setenv("SOPHIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "acct-from-env")
    monkeypatch.setenv("SNOWFLAKE_DATABASE", "SOPHIA")
    monkeypatch.setenv("PINECONE_API_KEY", "pc-secret")
    (tmp_path / "fakesnow").mkdir()
    with (
        PineconeServer(api_key="pc-secret") as pinecone,
        fakesnow.patch(db_path=str(tmp_path / "fakesnow")),
    ):
        monkeypatch.setenv("PINECONE_INDEX_HOST", pinecone.url)
        with snowflake.connector.connect(database="SOPHIA") as con:
            con.cursor().execute("CREATE DATABASE IF NOT EXISTS SOPHIA")
        seen: list[dict[str, Any]] = []
        fake_connect = snowflake.connector.connect

        def recording_connect(**kwargs: Any) -> Any:
            seen.append(kwargs)
            return fake_connect(**kwargs)

        # Undone inside fakesnow's patch: undone at teardown (after fakesnow restored the
        # real connector), it would put fakesnow's mock back for every later test.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(snowflake.connector, "connect", recording_connect)
            status = collect_status(load_settings())

    assert status["profile"] == "prod"
    assert status["vectors"] == 0
    assert seen, "status did not reach the warehouse"
    assert {kw["account"] for kw in seen} == {"acct-from-env"}
    assert {kw["password"] for kw in seen} == {"value-of-snowflake_password"}
