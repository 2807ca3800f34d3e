"""A local HTTP server speaking the OpenAI chat-completions protocol, for the LLM
gateway's tests: pytest-httpserver (a real werkzeug server on a loopback port) answering
``POST /v1/chat/completions`` with whatever ``reply`` returns for the request's messages,
and a usage block counted from the text (so each test can compute the expected cost)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PATH = "/v1/chat/completions"


@dataclass
class ChatServer:
    server: HTTPServer
    model: str  # what the replies say answered (a dated snapshot, as providers do)
    prompt_tokens: int = 120
    completion_tokens: int = 30
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/v1")

    @property
    def calls(self) -> int:
        return len(self.requests)


def serve_chat(
    server: HTTPServer,
    reply: Callable[[list[dict[str, str]]], str],
    *,
    model: str = "gpt-4o-mini-2024-07-18",
    status: int = 200,
) -> ChatServer:
    chat = ChatServer(server, model)

    def handle(request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True))
        chat.requests.append(body)
        chat.headers.append({k.lower(): v for k, v in request.headers.items()})
        if status != 200:
            return Response(
                json.dumps({"error": {"message": "upstream failed", "type": "server_error"}}),
                status=status,
                content_type="application/json",
            )
        payload = {
            "id": f"chatcmpl-{chat.calls}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": chat.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply(body["messages"])},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": chat.prompt_tokens,
                "completion_tokens": chat.completion_tokens,
                "total_tokens": chat.prompt_tokens + chat.completion_tokens,
            },
        }
        return Response(json.dumps(payload), status=200, content_type="application/json")

    server.expect_request(PATH, method="POST").respond_with_handler(handle)
    return chat
