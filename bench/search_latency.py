"""Latency of ``Searcher.search`` (hybrid, query embedding included) over a synthetic
index of N rows.

    .venv/bin/python bench/search_latency.py [--rows 100000] [--queries 200] [--hash]

Rows: random unit vectors and texts of 40 words drawn from a 5,000-word vocabulary, in a
LanceDB table of the store's own schema, with the full-text index built as the index sync
builds it. Queries: 3-6 words of the same vocabulary, embedded by the real model (``--hash``
swaps in the hash embedder, to time search alone). Prints one JSON object: p50, p99 and
mean per mode, with the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time

import lancedb
import numpy as np
import pyarrow as pa
from machine import header

from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.serving.search import Mode, Searcher, SearchRequest


def build(uri: str, rows: int, vocab: list[str], rng: random.Random) -> LanceDBVectorStore:
    store = LanceDBVectorStore(uri=uri)
    schema = store._schema()
    db = lancedb.connect(uri)
    table = db.create_table(store.table_name, schema=schema)
    gen = np.random.default_rng(1)
    for start in range(0, rows, 20_000):
        n = min(20_000, rows - start)
        vecs = gen.standard_normal((n, store.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        batch = {
            "id": [f"bench:doc:{start + i}#0" for i in range(n)],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), store.dim),
            "text": [" ".join(rng.choices(vocab, k=40)) for _ in range(n)],
            "doc_id": [f"bench:doc:{start + i}" for i in range(n)],
            "source": [rng.choice(["gong", "slack", "linear"]) for _ in range(n)],
        }
        cols = {f.name: batch.get(f.name, pa.nulls(n, f.type)) for f in schema}
        table.add(pa.table(cols, schema=schema))
    store.ensure_keyword_index()
    return store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--hash", action="store_true", help="hash embedder (search alone)")
    args = ap.parse_args()
    rng = random.Random(7)
    vocab = [f"w{i}" + "".join(rng.choices("abcdefghij", k=4)) for i in range(5_000)]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = build(tmp, args.rows, vocab, rng)
        built_s = time.perf_counter() - t0
        if args.hash:
            from sophia_pipeline_tests.fakes import hash_vector

            embed = hash_vector
        else:
            embedder = Embedder()
            embedder.embed(["warm up"])  # the model loads once per process

            def embed(q: str) -> np.ndarray:
                return embedder.embed([q])[0]

        searcher = Searcher(store, embed)
        queries = [" ".join(rng.choices(vocab, k=rng.randint(3, 6))) for _ in range(args.queries)]
        modes: list[Mode] = ["hybrid", "semantic", "keyword"]
        by_mode: dict[str, dict[str, float]] = {}
        for mode in modes:
            searcher.search(SearchRequest(query=queries[0], mode=mode))  # warm caches
            took = []
            for q in queries:
                t = time.perf_counter()
                searcher.search(SearchRequest(query=q, mode=mode))
                took.append((time.perf_counter() - t) * 1000)
            took.sort()
            by_mode[mode] = {
                "p50_ms": round(took[len(took) // 2], 1),
                "p99_ms": round(took[max(0, int(len(took) * 0.99) - 1)], 1),
                "mean_ms": round(statistics.fmean(took), 1),
            }
        # One JSON object (the bench suite reads one per part).
        print(
            json.dumps(
                {
                    **header(),
                    "rows": store.count(),
                    "embedder": "hash" if args.hash else "all-MiniLM-L6-v2",
                    "queries": len(queries),
                    "build_s": round(built_s, 1),
                    "modes": by_mode,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
