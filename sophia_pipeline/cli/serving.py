"""The read API's commands: ``serve`` (HTTP + /mcp), ``mcp`` (stdio), and the terminal
readers ``search``, ``mentions`` and ``dead-letters`` (tables for people, ``--json`` for
scripts). Each builds one service from the settings."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sophia_pipeline.settings import Settings, load_settings

if TYPE_CHECKING:  # imported lazily by the commands: a fast `--help`
    from sophia_pipeline.serving.service import ReadService


def build_service(settings: Settings) -> ReadService:
    from sophia_pipeline.serving.dependencies import dependencies_for
    from sophia_pipeline.serving.service import ReadService

    return ReadService(dependencies_for(settings), timeout_s=settings.api.dependency_timeout_s)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sophia_pipeline.serving.http_api import create_app

    settings = load_settings()
    host = args.host or settings.api.host
    port = args.port or settings.api.port
    token = settings.api.token.get_secret_value() if settings.api.token else None
    if token is None and host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {host} without SOPHIA_API_TOKEN: anyone who can reach "
            "it can read everything",
            file=sys.stderr,
        )
    app = create_app(
        build_service(settings),
        token=token,
        report_path=settings.executive_report_path,
        host=host,
    )
    uvicorn.run(app, host=host, port=port, log_level=args.log_level)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from sophia_pipeline.serving.mcp_server import build_mcp_server

    service = build_service(load_settings())
    # Warm before answering: the first tool call must not pay for loading the model.
    service.warm()
    try:
        build_mcp_server(service).run("stdio")
    finally:
        service.close()
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from sophia_pipeline.serving.search import SearchRequest

    req = SearchRequest(
        query=args.query, mode=args.mode, sources=args.source or None, limit=args.limit
    )
    service = build_service(load_settings())
    try:
        service.warm()  # the model loads outside the query's deadline
        result = service.search(req)
    finally:
        service.close()
    if args.json:
        return _print_json(result)
    print(f"{len(result.hits)} hit(s), mode {result.mode}, {result.took_ms:.0f} ms")
    if result.note:
        print(result.note)
    for i, h in enumerate(result.hits, start=1):
        when = _cell(h.occurred_at)
        print(f"\n{i}. [{h.source}] {h.title or h.doc_id}  {when}  score {h.score:.3f}")
        print(f"   {h.chunk_id}" + (f"  {h.url}" if h.url else ""))
        print(f"   {_one_line(h.snippet, 200)}")
    return 0


def cmd_mentions(args: argparse.Namespace) -> int:
    from sophia_pipeline.serving.models import MentionsRequest

    service = build_service(load_settings())
    try:
        req = MentionsRequest(
            competitor=args.competitor,
            sources=args.source or [],
            start=args.start,
            end=args.end,
            account_id=None,
            limit=args.limit,
        )
        result = service.competitor_mentions(req)
    finally:
        service.close()
    if args.json:
        return _print_json(result)
    print(
        table(
            [c.model_dump() for c in result.competitors],
            ["competitor", "mentions", "max_threat", "avg_threat", "last_mentioned_at"],
        )
    )
    print()
    print(
        table(
            [
                {**m.model_dump(), "context": _one_line(m.context or m.matched_text, 70)}
                for m in result.mentions
            ],
            ["mentioned_at", "competitor", "threat_level", "source", "account_id", "context"],
        )
    )
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    service = build_service(load_settings())
    try:
        if args.action == "show":
            letter = service.dead_letter(args.id)
            if args.json:
                return _print_json(letter)
            for key, value in letter.model_dump().items():
                print(f"{key}: {value}")
            return 0
        letters = service.dead_letters(args.source, args.limit)
    finally:
        service.close()
    if args.json:
        print(json.dumps([d.model_dump(mode="json") for d in letters], indent=2))
        return 0
    print(
        table(
            [{**d.model_dump(), "error": _one_line(d.error, 60)} for d in letters],
            ["dead_letter_id", "source", "stage", "attempts", "last_seen", "error"],
        )
    )
    return 0


def _print_json(model: BaseModel) -> int:
    print(model.model_dump_json(indent=2))
    return 0


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain text table: a header, a rule, one line per row (``(none)`` when empty)."""
    if not rows:
        return "(none)"
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))  # noqa: E731
    return "\n".join(
        [line(columns), line(["-" * w for w in widths]), *(line(r).rstrip() for r in cells)]
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return str(value)


def add_parsers(sub: Any, iso_date: Any) -> None:
    """The serving commands on the ``sophia-pipeline`` parser."""
    p = sub.add_parser("serve", help="serve the read API over HTTP (and MCP at /mcp)")
    p.add_argument("--host", help="default SOPHIA_API_HOST (127.0.0.1)")
    p.add_argument("--port", type=int, help="default SOPHIA_API_PORT (8000)")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("mcp", help="serve the read API as an MCP server over stdio")
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser("search", help="search the index (hybrid by default), with citations")
    p.add_argument("query")
    p.add_argument("--source", action="append", help="repeat for several sources")
    p.add_argument("--mode", choices=["hybrid", "semantic", "keyword"], default="hybrid")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("mentions", help="competitor mentions, newest first")
    p.add_argument("--competitor")
    p.add_argument("--source", action="append", help="repeat for several sources")
    p.add_argument("--start", type=iso_date, help="first day, YYYY-MM-DD")
    p.add_argument("--end", type=iso_date, help="last day, YYYY-MM-DD")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mentions)

    p = sub.add_parser("dead-letters", help="records that failed to load, and why")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("list", help="the most recently seen dead letters")
    q.add_argument("--source")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q = actions.add_parser("show", help="one dead letter with its payload")
    q.add_argument("id")
    q.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dead_letters)
