"""Retrieval quality of search on the sample's labelled query set, per mode.

    SOPHIA_DATA_DIR=/tmp/sophia-demo .venv/bin/python bench/retrieval_quality.py [--build]

Reads the demo index under ``SOPHIA_DATA_DIR`` (LanceDB) and the labelled queries the
sample generator wrote beside the landing data (``landing/_labels/queries.jsonl``).
``--build`` first generates the sample and runs the pipeline there (the real model:
minutes on two cores). Prints hit@1, hit@5 and MRR@10 for semantic, keyword and hybrid,
overall and per query kind.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import asdict

from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.serving.evaluation import evaluate, load_queries
from sophia_pipeline.serving.search import Mode, Searcher
from sophia_pipeline.settings import load_settings

MODES: list[Mode] = ["semantic", "keyword", "hybrid"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="store_true", help="generate the sample and run first")
    args = ap.parse_args()
    settings = load_settings()
    if args.build:
        for cmd in (["sample"], ["run", "--log-level", "WARNING"]):
            code = f"import sys; from sophia_pipeline.cli import main; sys.exit(main({cmd!r}))"
            subprocess.run([sys.executable, "-c", code], check=True)
    queries = load_queries(settings.landing_dir / "_labels" / "queries.jsonl")
    store = LanceDBVectorStore(uri=str(settings.lancedb_dir))
    embedder = Embedder()
    searcher = Searcher(store, lambda q: embedder.embed([q])[0])
    print(json.dumps({"vectors": store.count(), "queries": len(queries)}))
    by_kind = defaultdict(list)
    for q in queries:
        by_kind[q.kind].append(q)
    for mode in MODES:
        print(json.dumps({"kind": "all", **asdict(evaluate(searcher, queries, mode))}))
        for kind, subset in sorted(by_kind.items()):
            print(json.dumps({"kind": kind, **asdict(evaluate(searcher, subset, mode))}))


if __name__ == "__main__":
    main()
