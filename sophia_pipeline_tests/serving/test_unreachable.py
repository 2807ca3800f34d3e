"""A vector store that stops answering: search fails fast with a clear error naming it,
``/ready`` reports degraded naming it, and the KPI reads keep answering.

The dead store is real: a Pinecone store pointed at a TCP server that accepts
connections and never answers (a hung host, the worst case: no error ever comes back
by itself). Timings are printed, not asserted; what is asserted is the mechanism: the
deadline's error first, then the open breaker's, which refuses without connecting.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sophia_pipeline.resources.pinecone_store import PineconeVectorStore
from sophia_pipeline.serving.errors import DependencyUnavailable
from sophia_pipeline.serving.guard import Guards
from sophia_pipeline.serving.http_api import create_app
from sophia_pipeline.serving.models import KpiRequest
from sophia_pipeline.serving.search import SearchRequest
from sophia_pipeline.serving.service import ReadService
from sophia_pipeline_tests.serving.demo import Demo

pytestmark = pytest.mark.slow

DEADLINE_S = 0.5
FAIL_MAX = 3


class SilentServer:
    """Accepts TCP connections and never sends a byte; counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        for c in self.accepted:
            c.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def dead_store_service(demo: Demo, silent: SilentServer, prefix: str) -> ReadService:
    store = PineconeVectorStore(api_key="test", index_host=f"http://127.0.0.1:{silent.port}")
    service = demo.service(prefix=prefix, vector_store=store)
    service.guards.shutdown()
    service.guards = Guards(timeout_s=DEADLINE_S, prefix=prefix, fail_max=FAIL_MAX)
    return service


def test_search_fails_fast_and_kpis_still_answer(demo: Demo, silent: SilentServer) -> None:
    service = dead_store_service(demo, silent, "dead-service")
    timings = []
    for attempt in range(FAIL_MAX):
        started = time.perf_counter()
        with pytest.raises(DependencyUnavailable) as info:
            service.search(SearchRequest(query="pricing"))
        timings.append(time.perf_counter() - started)
        assert info.value.dependency == "vector_store"
        assert f"no answer within {DEADLINE_S:g} s" in str(info.value), attempt
    assert silent.accepted, "the store never reached the silent server"
    connections = len(silent.accepted)
    started = time.perf_counter()
    with pytest.raises(DependencyUnavailable, match="circuit breaker open"):
        service.search(SearchRequest(query="pricing"))
    timings.append(time.perf_counter() - started)
    time.sleep(0.3)
    assert len(silent.accepted) == connections, "an open breaker must not connect"
    print(f"\nsearch against a hung vector store, seconds per call: {timings}")

    kpis = service.get_kpis(KpiRequest())
    assert kpis.days and kpis.latest is not None
    ready = service.readiness()
    assert ready.status == "degraded"
    states = {d.name: d for d in ready.dependencies}
    assert states["vector_store"].state == "down"
    assert "circuit breaker open" in states["vector_store"].detail
    assert {states[n].state for n in ("warehouse", "cache", "embedder")} == {"up"}


def test_http_says_503_naming_the_store_and_ready_is_degraded(
    demo: Demo, silent: SilentServer
) -> None:
    service = dead_store_service(demo, silent, "dead-http")
    with TestClient(create_app(service), base_url="http://127.0.0.1:8000") as client:
        response = client.post("/v1/search", json={"query": "pricing"})
        assert response.status_code == 503
        body = response.json()
        assert body["dependency"] == "vector_store"
        assert "vector_store unavailable" in body["detail"]
        assert int(response.headers["retry-after"]) > 0
        ready = client.get("/ready")
        assert ready.status_code == 200  # degraded still serves: KPIs answer
        assert ready.json()["status"] == "degraded"
        down = [d["name"] for d in ready.json()["dependencies"] if d["state"] == "down"]
        assert down == ["vector_store"]
        assert client.get("/v1/kpis").status_code == 200
        assert client.get("/v1/competitors/mentions").status_code == 200
        sources = client.get("/v1/sources")
        assert sources.status_code == 200 and sources.json()["index_vectors"] is None
