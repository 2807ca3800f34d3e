"""A local HTTP server speaking the subset of Pinecone's data-plane API the adapter uses
(Pinecone itself cannot be reached from here). It records every request so tests can
check what the adapter sends."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np


def _compare(op: str, value: Any, arg: Any) -> bool:
    if op == "$eq":
        return bool(value == arg)
    if op == "$in":
        return value in arg
    if op == "$gte":
        return bool(value >= arg)
    if op == "$lte":
        return bool(value <= arg)
    raise ValueError(f"operator {op} not supported by the test server")


def matches_filter(metadata: dict[str, Any], flt: dict[str, Any]) -> bool:
    """Pinecone's metadata-filter language, the operators the adapter sends: ``$and``,
    ``$or``, and per field ``$eq``, ``$in``, ``$gte``, ``$lte`` (a missing field matches
    nothing)."""
    for key, cond in flt.items():
        if key == "$and":
            if not all(matches_filter(metadata, c) for c in cond):
                return False
        elif key == "$or":
            if not any(matches_filter(metadata, c) for c in cond):
                return False
        else:
            if key not in metadata:
                return False
            value = metadata[key]
            ops = cond if isinstance(cond, dict) else {"$eq": cond}
            for op, arg in ops.items():
                if not _compare(op, value, arg):
                    return False
    return True


class PineconeState:
    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.lock = threading.Lock()


def _handler(state: PineconeState, api_key: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _reply(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}") if n else {}

        def _handle(self, method: str) -> None:
            url = urlparse(self.path)
            body = self._body() if method == "POST" else None
            with state.lock:
                state.requests.append((method, url.path, dict(self.headers), body))
            if self.headers.get("Api-Key") != api_key:
                return self._reply(
                    401, {"error": {"code": "UNAUTHENTICATED", "message": "bad key"}}
                )
            with state.lock:
                return self._route(method, url.path, parse_qs(url.query), body)

        def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
            if method == "POST" and path == "/vectors/upsert":
                ns = state.namespaces.setdefault(body.get("namespace", ""), {})
                for v in body["vectors"]:
                    ns[v["id"]] = v
                return self._reply(200, {"upsertedCount": len(body["vectors"])})
            if method == "POST" and path == "/vectors/delete":
                ns = state.namespaces.setdefault(body.get("namespace", ""), {})
                for i in body.get("ids", []):
                    ns.pop(i, None)
                return self._reply(200, {})
            if method == "POST" and path == "/describe_index_stats":
                namespaces = {k: {"vectorCount": len(v)} for k, v in state.namespaces.items() if v}
                total = sum(len(v) for v in state.namespaces.values())
                return self._reply(
                    200,
                    {
                        "namespaces": namespaces,
                        "dimension": 384,
                        "indexFullness": 0.0,
                        "totalVectorCount": total,
                    },
                )
            if method == "POST" and path == "/query":
                ns = state.namespaces.get(body.get("namespace", ""), {})
                q = np.asarray(body["vector"], dtype=np.float32)
                flt = body.get("filter")
                scored = []
                for v in ns.values():
                    if flt and not matches_filter(v.get("metadata", {}), flt):
                        continue
                    x = np.asarray(v["values"], dtype=np.float32)
                    score = float(q @ x / (np.linalg.norm(q) * np.linalg.norm(x) + 1e-12))
                    scored.append((score, v))
                scored.sort(key=lambda t: -t[0])
                matches = [
                    {
                        "id": v["id"],
                        "score": s,
                        "values": [],
                        **(
                            {"metadata": v.get("metadata", {})}
                            if body.get("includeMetadata")
                            else {}
                        ),
                    }
                    for s, v in scored[: body.get("topK", 10)]
                ]
                return self._reply(
                    200, {"matches": matches, "namespace": body.get("namespace", "")}
                )
            if method == "GET" and path == "/vectors/list":
                ns = state.namespaces.get(query.get("namespace", [""])[0], {})
                ids = sorted(ns)
                limit = int(query.get("limit", ["100"])[0])
                start = int(query.get("paginationToken", ["0"])[0])
                page = ids[start : start + limit]
                out: dict[str, Any] = {
                    "vectors": [{"id": i} for i in page],
                    "namespace": "",
                    "usage": {"readUnits": 1},
                }
                if start + limit < len(ids):
                    out["pagination"] = {"next": str(start + limit)}
                return self._reply(200, out)
            return self._reply(404, {"error": {"code": "NOT_FOUND", "message": path}})

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._handle("POST")

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

    return Handler


class PineconeServer:
    def __init__(self, api_key: str = "test-key") -> None:
        self.state = PineconeState()
        self.api_key = api_key
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state, api_key))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> PineconeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
