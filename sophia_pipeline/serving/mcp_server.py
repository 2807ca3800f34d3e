"""The MCP door: the read API's calls as read-only MCP tools (official ``mcp`` SDK, 2.x).

Each tool's arguments are its request model's fields, flat (what an agent fills in most
reliably), with the model's descriptions and bounds in the input schema; its return
annotation is the response model, so the SDK publishes the output schema and returns
the payload as structured content, the same JSON the HTTP door returns. The request is
validated by the same model as over HTTP (cross-field rules included, e.g. a reversed
date range), and every anticipated failure (bad input, unknown account, a dependency
down) reaches the agent as a tool error with a clear message, never a crash.

``sophia-pipeline mcp`` serves this over stdio; the HTTP app mounts the same server's
streamable HTTP transport at ``/mcp``, stateless, so any replica can answer any request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, cast

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import PydanticUndefined

from .answer import Answer
from .errors import ServingError, validation_message
from .models import (
    AccountOverview,
    AccountRequest,
    AnswerRequest,
    KpiRequest,
    KpiResponse,
    MentionsRequest,
    MentionsResponse,
    SourcesRequest,
    SourcesResponse,
)
from .search import SearchRequest, SearchResponse
from .service import ReadService

INSTRUCTIONS = (
    "Sophia answers questions about the company's sales calls, CRM, tickets, code and "
    "chat: `search` finds cited passages, `answer` answers with citations, `get_kpis` "
    "returns daily KPI rollups, "
    "`competitor_mentions` lists who mentioned which competitor and how threatening it "
    "was, `account_overview` summarizes one account, `list_sources` says what is indexed "
    "and how fresh it is. Every tool only reads."
)

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def _parameters(model: type[BaseModel]) -> list[inspect.Parameter]:
    """The model's fields as keyword-only parameters carrying their constraints and
    descriptions (a default goes on the parameter: pydantic refuses one inside
    ``Annotated``)."""
    params = []
    for name, field in model.model_fields.items():
        annotation = cast(Any, Annotated)[
            (field.annotation, *field.metadata, Field(description=field.description))
        ]
        if field.is_required():
            default: Any = inspect.Parameter.empty
        else:
            default = field.get_default(call_default_factory=True)
            default = None if default is PydanticUndefined else default
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    return params


def add_read_tool(
    server: MCPServer,
    name: str,
    description: str,
    request: type[BaseModel],
    response: type[BaseModel],
    call: Callable[[Any], BaseModel],
) -> None:
    """Registers ``call`` as tool ``name``: flat arguments, ``response`` as output schema."""

    def tool(**arguments: Any) -> BaseModel:
        try:
            return call(request.model_validate(arguments))
        except ValidationError as exc:
            raise ToolError(validation_message(exc)) from exc
        except ServingError as exc:
            raise ToolError(str(exc)) from exc

    tool.__name__ = name
    tool.__doc__ = description
    # The SDK derives the input schema from the signature and the output schema from
    # the return annotation; both come from the models, so the doors cannot drift.
    tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        _parameters(request), return_annotation=response
    )
    server.add_tool(
        tool,
        name=name,
        title=name.replace("_", " ").capitalize(),
        description=description,
        annotations=READ_ONLY,
        structured_output=True,
    )


def build_mcp_server(service: ReadService) -> MCPServer:
    server: MCPServer = MCPServer("sophia", instructions=INSTRUCTIONS)
    add_read_tool(
        server,
        "search",
        "Search calls, chat, tickets, code, CRM and documents. Hybrid (keyword + semantic, "
        "fused by reciprocal rank) by default; filter by sources, entity types, account, "
        "date range, speaker. Each hit is cited: chunk and document ids, title, source "
        "link, when it happened.",
        SearchRequest,
        SearchResponse,
        service.search,
    )
    add_read_tool(
        server,
        "answer",
        "Answer a question from the indexed records, citing the passages used as [n]: "
        "through the configured LLM, else extractively (the best matching sentences).",
        AnswerRequest,
        Answer,
        service.answer,
    )
    add_read_tool(
        server,
        "get_kpis",
        "Daily KPI rollups (revenue month to date, pipeline, customer health, competitive "
        "win rate, team productivity, LLM cost efficiency) for a date range, oldest first.",
        KpiRequest,
        KpiResponse,
        service.get_kpis,
    )
    add_read_tool(
        server,
        "competitor_mentions",
        "Competitor mentions from calls, chat, tickets and CRM, newest first, with the "
        "text around each, its threat level (1-5) and sentiment; filter by competitor, "
        "sources, date range and account.",
        MentionsRequest,
        MentionsResponse,
        service.competitor_mentions,
    )
    add_read_tool(
        server,
        "account_overview",
        "One account: its recent calls and their sentiment trend, open deals, competitor "
        "mentions, and the account's own passages most relevant to `query`, each cited.",
        AccountRequest,
        AccountOverview,
        service.account_overview,
    )
    add_read_tool(
        server,
        "list_sources",
        "What is indexed per source: documents, chunks, vectors, the newest record and "
        "when the index was last synced.",
        SourcesRequest,
        SourcesResponse,
        service.list_sources,
    )
    return server
