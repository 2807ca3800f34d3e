"""The ``intelligence/gong_summaries`` asset through ``materialize()``: extractive with no
key (no network), through the gateway against a local chat-completions server with one
(usage rows written), and a re-run that pays for nothing it already has."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer

from sophia_pipeline.defs.assets import gong_summaries as summaries_asset
from sophia_pipeline.documents import Document, DocumentKind, Turn, render_turns
from sophia_pipeline.resources.llm_gateway import LLMGateway
from sophia_pipeline.settings import load_settings
from sophia_pipeline.store import executive, intelligence, staging
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.llm_server import serve_chat
from sophia_pipeline_tests.processing.test_summaries import TURNS

DAY = date(2026, 9, 1)


def call(call_id: str, turns: list[dict]) -> Document:
    parsed = [Turn(**t) for t in turns]
    text, _ = render_turns(parsed)
    return Document(
        doc_id=Document.make_id("gong", "call", call_id),
        source="gong",
        entity_type="call",
        source_id=call_id,
        kind=DocumentKind.CONVERSATION,
        title=f"Discovery call {call_id}",
        text=text,
        turns=parsed,
        account_id="hs-co-1",
        occurred_at=datetime.combine(DAY, datetime.min.time(), tzinfo=UTC),
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    wh.ensure_schema()
    docs = [(call("c1", TURNS), DAY), (call("c2", TURNS[:6]), DAY)]
    staging.write_documents(wh, "gong", docs, DAY, DAY + timedelta(days=1))
    return wh


def materialize(wh: DuckDBWarehouse, gateway: LLMGateway) -> dg.ExecuteInProcessResult:
    (asset,) = summaries_asset.build_assets(load_settings())
    return dg.materialize(
        [asset],
        resources={"warehouse": wh, "llm_gateway": gateway},
        partition_key=DAY.isoformat(),
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.asset_materializations_for_node("intelligence__gong_summaries")
    return {k: v.value for k, v in event.metadata.items()}


def stored(wh: DuckDBWarehouse):  # type: ignore[no-untyped-def]
    return intelligence.call_summaries_between(wh, DAY, DAY + timedelta(days=1))


def usage(wh: DuckDBWarehouse):  # type: ignore[no-untyped-def]
    today = now_utc().date()
    return executive.llm_calls_between(wh, today, today + timedelta(days=1))


def test_without_a_key_the_summaries_are_extractive(
    warehouse: DuckDBWarehouse, httpserver: HTTPServer
) -> None:
    result = materialize(warehouse, LLMGateway(base_url=httpserver.url_for("/v1")))
    assert result.success
    meta = metadata(result)
    assert meta["summarizer"] == "extractive (no PORTKEY_API_KEY)"
    assert meta["window_calls"] == 2
    rows = stored(warehouse)
    assert rows["summarizer"].tolist() == ["extractive", "extractive"]
    assert rows["model"].isna().all()
    c1 = rows.set_index("call_id").loc["c1"]
    assert "forecast" in c1["summary"].lower()
    assert any("price" in o for o in json.loads(c1["objections"]))
    assert any("next steps" in s for s in json.loads(c1["next_steps"]))
    assert len(httpserver.log) == 0 and usage(warehouse).empty
    (check,) = result.get_asset_check_evaluations()
    assert check.passed

    again = materialize(warehouse, LLMGateway())
    assert again.success and len(stored(warehouse)) == 2  # replaced, not appended


def test_with_a_key_the_llm_writes_them_and_a_rerun_pays_nothing(
    warehouse: DuckDBWarehouse, httpserver: HTTPServer
) -> None:
    reply = {
        "summary": "Paul's team forecasts in spreadsheets.",
        "objections": ["Price above budget"],
        "next_steps": ["Rita sends a recap"],
    }
    chat = serve_chat(httpserver, lambda m: json.dumps(reply))
    gateway = LLMGateway(api_key="pk", base_url=chat.base_url, warehouse=warehouse)

    result = materialize(warehouse, gateway)
    assert result.success and chat.calls == 2
    assert metadata(result)["summarizer"] == "llm (gpt-4o-mini)"
    rows = stored(warehouse)
    assert rows["summarizer"].tolist() == ["llm", "llm"]
    assert rows["model"].tolist() == ["gpt-4o-mini-2024-07-18"] * 2
    assert json.loads(rows["objections"].iloc[0]) == ["Price above budget"]
    assert "Paul (prospect): To be honest" in chat.requests[0]["messages"][1]["content"]
    spent = usage(warehouse)
    assert spent["purpose"].tolist() == ["gong_summary"] * 2
    assert spent["cost_usd"].sum() == pytest.approx(2 * (120 * 0.15 + 30 * 0.60) / 1e6)

    rerun = materialize(warehouse, gateway)
    assert rerun.success and chat.calls == 2  # unchanged transcripts: no new LLM call
    assert metadata(rerun)["window_by_summarizer"]["reused"] == 2
    assert len(usage(warehouse)) == 2


def test_a_call_the_llm_fails_is_summarized_extractively(
    warehouse: DuckDBWarehouse, httpserver: HTTPServer
) -> None:
    chat = serve_chat(httpserver, lambda m: "Sorry, I can't help with that.")
    result = materialize(warehouse, LLMGateway(api_key="pk", base_url=chat.base_url))
    assert result.success
    assert metadata(result)["summarizer"] == (
        "llm (gpt-4o-mini), extractive for 2 call(s) the LLM failed"
    )
    assert stored(warehouse)["summarizer"].tolist() == ["extractive", "extractive"]
