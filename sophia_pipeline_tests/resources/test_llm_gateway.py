"""The LLM gateway against a local chat-completions server: the Portkey SDK's request,
usage rows in executive_intelligence.llm_usage with their cost, and the KPI they feed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sophia_pipeline.processing import llm_pricing
from sophia_pipeline.processing.kpis import formulas
from sophia_pipeline.processing.kpis import inputs as kpi_inputs
from sophia_pipeline.resources.llm_gateway import (
    LlmCallError,
    LLMGateway,
    LlmNotConfiguredError,
    gateway_from_settings,
)
from sophia_pipeline.settings import load_settings
from sophia_pipeline.store import executive
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.llm_server import serve_chat


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    wh.ensure_schema()
    return wh


def gateway(base_url: str, warehouse: DuckDBWarehouse | None) -> LLMGateway:
    return LLMGateway(
        api_key="pk-test-key",
        virtual_key="vk-openai",
        base_url=base_url,
        model="gpt-4o-mini",
        timeout_s=5,
        warehouse=warehouse,
    )


def today_rows(wh: DuckDBWarehouse):  # type: ignore[no-untyped-def]
    day = now_utc().date()
    return executive.llm_calls_between(wh, day, day + timedelta(days=1))


def test_prices_come_from_the_table_by_name_or_dated_snapshot() -> None:
    mini = llm_pricing.PRICES["gpt-4o-mini"]
    assert llm_pricing.price_of("gpt-4o-mini-2024-07-18") == mini
    assert llm_pricing.price_of("@openai-prod/gpt-4o-mini") == mini
    # The longest matching name wins: gpt-4o-mini is not priced as gpt-4o.
    assert llm_pricing.price_of("gpt-4o-2024-08-06") == llm_pricing.PRICES["gpt-4o"]
    assert llm_pricing.price_of("my-finetune") is None
    cost = llm_pricing.cost_of("gpt-4o-mini", 1_000_000, 1_000_000)
    assert cost.priced and cost.usd == pytest.approx(0.15 + 0.60)
    assert llm_pricing.cost_of("my-finetune", 10, 10) == llm_pricing.Cost(0.0, False)


def test_a_completion_goes_through_portkey_and_its_usage_is_recorded(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    chat = serve_chat(httpserver, lambda messages: "Forty-two. [1]")
    gw = gateway(chat.base_url, warehouse)
    reply = gw.chat([{"role": "user", "content": "What is the answer?"}], purpose="answer")

    assert reply.text == "Forty-two. [1]"
    assert chat.calls == 1
    sent, headers = chat.requests[0], chat.headers[0]
    assert sent["model"] == "gpt-4o-mini" and sent["max_tokens"] == 400
    assert sent["messages"] == [{"role": "user", "content": "What is the answer?"}]
    # Portkey's own headers carry the key and the route.
    assert headers["x-portkey-api-key"] == "pk-test-key"
    assert headers["x-portkey-virtual-key"] == "vk-openai"

    expected = (120 * 0.15 + 30 * 0.60) / 1_000_000
    assert reply.model == "gpt-4o-mini-2024-07-18" and reply.cost_usd == pytest.approx(expected)
    rows = today_rows(warehouse)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["usage_id"] == reply.usage_id
    assert (row["model"], row["purpose"], row["provider"]) == (
        "gpt-4o-mini-2024-07-18",
        "answer",
        "portkey-virtual-key",
    )
    assert (row["requests"], row["cache_hits"]) == (1, 0)
    assert (row["input_tokens"], row["output_tokens"]) == (120, 30)
    assert row["cost_usd"] == pytest.approx(expected) and bool(row["priced"])


def test_usage_rows_make_the_llm_kpi_real(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    chat = serve_chat(httpserver, lambda messages: "ok")
    gw = gateway(chat.base_url, warehouse)
    for _ in range(3):
        gw.chat([{"role": "user", "content": "hi"}], purpose="gong_summary")
    gw.record_cache_hit("gpt-4o-mini-2024-07-18", "answer")

    day = now_utc().date()
    usage = kpi_inputs.llm_usage_from_rows(
        executive.llm_usage_between(warehouse, day, day + timedelta(days=1))
    )
    inputs = kpi_inputs.KpiInputs(llm_configured=True, llm_usage=usage)
    efficiency, cost = formulas.llm_cost_efficiency(inputs, day)
    one_call = (120 * 0.15 + 30 * 0.60) / 1_000_000
    assert cost == pytest.approx(3 * one_call)
    # Four requests answered (the cache hit included) for the price of three.
    assert efficiency == pytest.approx(4 / (3 * one_call))
    rows = today_rows(warehouse)
    assert rows["cache_hits"].tolist().count(1) == 1
    assert rows.loc[rows["cache_hits"] == 1, "cost_usd"].iloc[0] == 0.0


def test_an_unpriced_model_is_recorded_as_such(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    chat = serve_chat(httpserver, lambda messages: "ok", model="house-model-7b")
    gateway(chat.base_url, warehouse).chat([{"role": "user", "content": "hi"}], purpose="answer")
    row = today_rows(warehouse).iloc[0]
    assert row["model"] == "house-model-7b" and row["cost_usd"] == 0.0 and not row["priced"]


def test_a_failing_gateway_raises_a_clear_error_and_records_nothing(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    chat = serve_chat(httpserver, lambda messages: "never", status=500)
    with pytest.raises(LlmCallError, match="LLM request failed"):
        gateway(chat.base_url, warehouse).chat([{"role": "user", "content": "hi"}], purpose="x")
    assert chat.calls >= 1
    assert today_rows(warehouse).empty


def test_without_a_key_the_gateway_is_unconfigured_and_never_calls_out(
    httpserver: HTTPServer,
) -> None:
    gw = LLMGateway(base_url=httpserver.url_for("/v1"))
    assert not gw.configured
    with pytest.raises(LlmNotConfiguredError):
        gw.chat([{"role": "user", "content": "hi"}], purpose="answer")
    assert len(httpserver.log) == 0


def test_settings_build_the_same_gateway_outside_dagster() -> None:
    unset = gateway_from_settings(load_settings({}), warehouse=None)
    assert not unset.configured and unset.model == "gpt-4o-mini"
    env = {
        "PORTKEY_API_KEY": "pk-1",
        "PORTKEY_PROVIDER": "openai",
        "PORTKEY_BASE_URL": "http://127.0.0.1:9/v1",
        "SOPHIA_LLM_MODEL": "gpt-4.1-mini",
    }
    gw = gateway_from_settings(load_settings(env), warehouse=None)
    assert gw.configured and gw.api_key == "pk-1" and gw.provider_name == "openai"
    assert (gw.base_url, gw.model) == ("http://127.0.0.1:9/v1", "gpt-4.1-mini")
