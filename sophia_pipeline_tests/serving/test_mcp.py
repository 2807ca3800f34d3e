"""The MCP server driven by the SDK's own client: in memory, and over stdio with
``sophia-pipeline mcp`` as a subprocess, on the materialized sample."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from sophia_pipeline.serving.mcp_server import build_mcp_server
from sophia_pipeline.serving.models import (
    AccountRequest,
    AnswerRequest,
    KpiRequest,
    MentionsRequest,
)
from sophia_pipeline.serving.search import SearchRequest
from sophia_pipeline.serving.service import ReadService
from sophia_pipeline_tests.serving.demo import Demo

pytestmark = pytest.mark.slow

TOOLS = {"search", "answer", "get_kpis", "competitor_mentions", "account_overview", "list_sources"}
ROOT = Path(__file__).resolve().parents[2]


def tool_calls(demo: Demo) -> dict[str, tuple[dict[str, Any], Any]]:
    """Arguments for each tool, and the service call that must give the same payload."""
    account = str(
        demo.warehouse.query(
            "SELECT account_id FROM gong_intelligence.call_transcripts ORDER BY call_id LIMIT 1"
        )["account_id"].iloc[0]
    )
    arguments: dict[str, dict[str, Any]] = {
        "search": {"query": "pricing objections", "limit": 5},
        "answer": {"question": "Who asked about pricing?"},
        "get_kpis": {"start": "2026-10-01", "end": "2026-10-10"},
        "competitor_mentions": {"sources": ["gong"], "limit": 5},
        "account_overview": {"account_id": account, "calls": 3},
        "list_sources": {},
    }
    models: dict[str, Any] = {
        "search": SearchRequest,
        "answer": AnswerRequest,
        "get_kpis": KpiRequest,
        "competitor_mentions": MentionsRequest,
        "account_overview": AccountRequest,
    }
    return {
        name: (args, models[name].model_validate(args) if name in models else None)
        for name, args in arguments.items()
    }


def expected(service: ReadService, name: str, req: Any) -> dict[str, Any]:
    call = {
        "search": service.search,
        "answer": service.answer,
        "get_kpis": service.get_kpis,
        "competitor_mentions": service.competitor_mentions,
        "account_overview": service.account_overview,
        "list_sources": lambda _: service.list_sources(),
    }[name]
    return call(req).model_dump(mode="json")  # type: ignore[no-any-return]


def without_timing(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "took_ms"}


def test_in_memory_client_lists_read_only_tools_and_matches_the_service(demo: Demo) -> None:
    service = demo.service(prefix="mcp-memory")
    server = build_mcp_server(service)
    calls = tool_calls(demo)

    async def run() -> None:
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            for tool in tools.values():
                assert tool.annotations is not None and tool.annotations.read_only_hint
                assert tool.annotations.destructive_hint is False
                assert tool.output_schema and tool.output_schema.get("type") == "object"
                assert tool.input_schema.get("type") == "object"
            limit = tools["search"].input_schema["properties"]["limit"]
            assert (limit.get("minimum"), limit.get("maximum")) == (1, 50)
            assert tools["get_kpis"].output_schema is not None
            assert "days" in tools["get_kpis"].output_schema["properties"]
            for name, (arguments, req) in calls.items():
                result = await client.call_tool(name, arguments)
                assert not result.is_error, (name, result.content)
                got = result.structured_content
                assert got is not None
                assert without_timing(got) == without_timing(expected(service, name, req)), name

    asyncio.run(run())


def test_kpis_through_mcp_equal_the_rollup_rows(demo: Demo) -> None:
    server = build_mcp_server(demo.service(prefix="mcp-kpis"))

    async def run() -> dict[str, Any]:
        async with Client(server) as client:
            result = await client.call_tool(
                "get_kpis", {"start": "2026-10-01", "end": "2026-10-31"}
            )
            assert result.structured_content is not None
            return result.structured_content

    got = asyncio.run(run())
    rows = demo.warehouse.query(
        "SELECT kpi_date, revenue_mtd, open_deals FROM executive_intelligence.kpi_rollups "
        "WHERE kpi_date BETWEEN '2026-10-01' AND '2026-10-31' ORDER BY kpi_date"
    )
    assert [d["kpi_date"] for d in got["days"]] == [
        pd.Timestamp(d).date().isoformat() for d in rows["kpi_date"]
    ]
    assert [d["revenue_mtd"] for d in got["days"]] == pytest.approx(list(rows["revenue_mtd"]))
    assert [d["open_deals"] for d in got["days"]] == list(rows["open_deals"])


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("search", {"query": "x", "limit": 0}, "limit"),
        ("search", {"query": "x", "limit": 10_000}, "limit"),
        ("search", {"query": "x" * 1_000_000}, "query"),
        ("search", {"query": "x", "sources": ["nope"]}, "sources"),
        ("get_kpis", {"start": "2026-10-02", "end": "2026-10-01"}, "after"),
        ("competitor_mentions", {"sources": ["nope"]}, "sources"),
        ("competitor_mentions", {"limit": 0}, "limit"),
        ("account_overview", {"account_id": "x' OR '1'='1"}, "account_id"),
        ("account_overview", {"account_id": "no-such-account"}, "no account"),
        ("answer", {"question": "q" * 1_000_000}, "question"),
    ],
)
def test_bad_arguments_are_tool_errors_that_say_why(
    demo: Demo, tool: str, arguments: dict[str, Any], says: str
) -> None:
    server = build_mcp_server(demo.service(prefix="mcp-bad"))

    async def run() -> Any:
        async with Client(server) as client:
            return await client.call_tool(tool, arguments)

    result = asyncio.run(run())
    assert result.is_error
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert says in text
    assert "Error executing tool" in text and len(text) < 2_000  # never the 1 MB input back


def test_stdio_subprocess_serves_the_same_tools(demo: Demo, redis_url: str) -> None:
    """``sophia-pipeline mcp`` as a subprocess (the real model, loaded before the first
    answer), driven over stdio."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "SOPHIA_PROFILE": "local",
        "SOPHIA_DATA_DIR": str(demo.settings.data_dir),
        "SOPHIA_DATA_START": "2024-01-01",
        "REDIS_URL": redis_url,
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "sophia_pipeline.cli", "mcp"], env=env, cwd=str(ROOT)
    )
    service = demo.service(prefix="mcp-stdio")
    calls = tool_calls(demo)

    async def run() -> None:
        async with Client(params, read_timeout_seconds=120) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            assert all(t.annotations and t.annotations.read_only_hint for t in tools.values())
            for name in ("get_kpis", "competitor_mentions", "list_sources"):
                arguments, req = calls[name]
                result = await client.call_tool(name, arguments)
                assert not result.is_error, (name, result.content)
                assert result.structured_content == expected(service, name, req), name
            # Search runs with the real model there (the index holds hash vectors): the
            # keyword leg still finds by words, and the answer is well-formed.
            found = await client.call_tool("search", {"query": "pricing", "limit": 3})
            assert not found.is_error and found.structured_content is not None
            assert len(found.structured_content["hits"]) == 3

    asyncio.run(run())
