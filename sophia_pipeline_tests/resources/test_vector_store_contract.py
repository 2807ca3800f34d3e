"""One contract for every vector store: LanceDB for real, Pinecone's adapter against a
local HTTP server speaking its data-plane API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.resources.pinecone_store import PineconeVectorStore
from sophia_pipeline.resources.vector_store import Filters, VectorRecord, VectorStore
from sophia_pipeline_tests.pinecone_server import PineconeServer


@pytest.fixture(params=["lancedb", "pinecone"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "lancedb":
        yield LanceDBVectorStore(uri=str(tmp_path / "lance"))
        return
    with PineconeServer(api_key="pc-secret") as server:
        store = PineconeVectorStore(api_key="pc-secret", index_host=server.url)
        store._server = server  # type: ignore[attr-defined]  # for request assertions
        yield store


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


def rec(i: int, source: str = "gong", seed: int | None = None) -> VectorRecord:
    return VectorRecord(
        id=f"gong:call:{i}#0",
        vector=unit(i if seed is None else seed),
        text=f"chunk {i}",
        doc_id=f"gong:call:{i}",
        source=source,
        content_hash=f"h{i}",
        partition_date="2026-09-01",
    )


def test_upsert_is_idempotent_by_id(store: VectorStore) -> None:
    store.upsert([rec(i) for i in range(5)])
    store.upsert([rec(i) for i in range(5)])
    assert store.count() == 5
    assert store.ids() == {f"gong:call:{i}#0" for i in range(5)}


def test_upsert_replaces_the_vector_of_an_id(store: VectorStore) -> None:
    store.upsert([rec(1)])
    store.upsert([rec(1, seed=99)])
    hits = store.query(unit(99), top_k=1)
    assert hits[0].id == "gong:call:1#0"
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert store.count() == 1


def test_delete_by_id(store: VectorStore) -> None:
    store.upsert([rec(i) for i in range(4)])
    store.delete(["gong:call:1#0", "gong:call:3#0", "never-existed"])
    assert store.ids() == {"gong:call:0#0", "gong:call:2#0"}


def test_query_ranks_nearest_first_and_filters_by_source(store: VectorStore) -> None:
    store.upsert([rec(i, source="gong" if i % 2 else "slack") for i in range(6)])
    hits = store.query(unit(3), top_k=3)
    assert hits[0].id == "gong:call:3#0"
    assert hits[0].doc_id == "gong:call:3" and hits[0].text == "chunk 3"
    assert all(
        h.source == "slack"
        for h in store.query(unit(3), top_k=3, filters=Filters(sources=("slack",)))
    )


def test_wrong_dimension_is_refused(store: VectorStore) -> None:
    bad = VectorRecord("x", np.zeros(10, dtype=np.float32), "t", "d", "s", "h", "2026-01-01")
    with pytest.raises(ValueError, match="shape"):
        store.upsert([bad])


def test_pinecone_requests_carry_the_key_and_namespace(tmp_path: Path) -> None:
    with PineconeServer(api_key="pc-secret") as server:
        store = PineconeVectorStore(api_key="pc-secret", index_host=server.url, namespace="ns1")
        store.upsert([rec(i) for i in range(250)])  # more than one upsert batch
        upserts = [r for r in server.state.requests if r[1] == "/vectors/upsert"]
        assert len(upserts) == 3
        assert all(r[2].get("Api-Key") == "pc-secret" for r in upserts)
        assert all(r[3]["namespace"] == "ns1" for r in upserts)
        assert store.count() == 250
        assert len(store.ids()) == 250  # paged listing
        bad = PineconeVectorStore(api_key="wrong", index_host=server.url)
        with pytest.raises(Exception):  # noqa: B017 - the SDK's own 401 exception
            bad.count()


def test_lancedb_search_sees_another_writers_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A serving process keeps its table open between searches; the index sync writes from
    # another process. The open table must pick those writes up (within the interval).
    from datetime import timedelta

    from sophia_pipeline.resources import lancedb_store

    monkeypatch.setattr(lancedb_store, "READ_CONSISTENCY", timedelta(seconds=0))
    reader = LanceDBVectorStore(uri=str(tmp_path / "lance"))
    writer = LanceDBVectorStore(uri=str(tmp_path / "lance"))
    writer.upsert([rec(1)])
    assert [h.id for h in reader.query(unit(1), top_k=5)] == ["gong:call:1#0"]
    writer.upsert([rec(2)])
    assert {h.id for h in reader.query(unit(2), top_k=5)} == {"gong:call:1#0", "gong:call:2#0"}
