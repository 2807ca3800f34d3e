"""Chunk + embed + index: this pipeline against LlamaIndex's ``IngestionPipeline`` on the
same real documents, and this pipeline's re-runs through its embedding cache.

    .venv/bin/python bench/ingest_compare.py [--readmes 60] [--stdlib 30] [--rounds 3]

Documents (real text nobody here wrote, a fixed sorted selection): the README texts of
the installed packages (their METADATA descriptions, at least 1,000 characters) and the
standard library's top-level ``.py`` files of 2-40 KB.

This pipeline: its own chunkers (``document`` for READMEs, ``code`` for Python), the
embedding cache (``EMBEDDINGS.EMBEDDING_CACHE`` in a DuckDB file, ``missing_hashes``),
``embed_in_slices`` + ``Embedder()`` and a LanceDB index (``LanceDBVectorStore``), a fresh
data folder per round. LlamaIndex: ``SentenceSplitter`` for READMEs, ``CodeSplitter`` for
Python (given a tree-sitter parser, since its language pack downloads grammars), the same
packaged model through ``HuggingFaceEmbedding``, a ``SimpleDocumentStore`` for
de-duplication and an in-memory ``SimpleVectorStore``; once with its defaults (1,024
tiktoken tokens per sentence chunk, 1,500 characters per code chunk: many chunks exceed
the model's 256 word pieces and are silently truncated) and once sized for this model
(``chunk_size=256``, code ``max_chars=768``). Rounds alternate the sides.

Re-runs (this pipeline only, on a data folder that has the first run): unchanged documents
(texts embedded, wall time as a fraction of the first run), then 1% of the documents
changed (a sentence appended to each).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import header, interleaved  # noqa: E402

from sophia_pipeline.processing.chunking.dispatch import chunk_for_kind  # noqa: E402
from sophia_pipeline.processing.embedding import embed_in_slices  # noqa: E402
from sophia_pipeline.processing.tokens import MODEL_MAX_TOKENS, default_counter, model_path  # noqa: E402
from sophia_pipeline.processing.vectors import missing_hashes  # noqa: E402
from sophia_pipeline.resources.embedder import Embedder, load_model  # noqa: E402
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore  # noqa: E402
from sophia_pipeline.resources.vector_store import VectorRecord  # noqa: E402
from sophia_pipeline.store import embeddings  # noqa: E402
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse  # noqa: E402


@dataclass(frozen=True)
class Doc:
    doc_id: str
    kind: str  # document | code
    text: str
    path: str


def real_documents(readmes: int, stdlib: int) -> list[Doc]:
    docs: list[Doc] = []
    seen: set[str] = set()
    for dist in sorted(distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        name = (dist.metadata["Name"] or "").lower()
        body = str(dist.metadata.get_payload() or dist.metadata.get("Description") or "")  # type: ignore[attr-defined]
        if name in seen or len(body) < 1000:
            continue
        seen.add(name)
        docs.append(Doc(f"readme:{name}", "document", body, f"{name}/README.md"))
        if len(docs) >= readmes:
            break
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(lib.glob("*.py")) if 2_000 <= p.stat().st_size <= 40_000]
    for p in files[:stdlib]:
        docs.append(Doc(f"stdlib:{p.name}", "code", p.read_text(encoding="utf-8"), p.name))
    return docs


class Ours:
    """One data folder: the cache and the index persist across ``run`` calls."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.wh = DuckDBWarehouse(path=str(folder / "warehouse.duckdb"))
        self.wh.ensure_schema()
        self.index = LanceDBVectorStore(uri=str(folder / "lancedb"))
        self.embedder = embedder
        self.counter = default_counter()

    def run(self, docs: list[Doc]) -> dict[str, int]:
        chunks = [
            c
            for d in docs
            for c in chunk_for_kind(d.kind, d.doc_id, d.text, self.counter, path=d.path)
        ]
        model_id = self.embedder.model_id
        hashes = [c.content_hash for c in chunks]
        todo = missing_hashes(hashes, embeddings.cached_hashes(self.wh, model_id, hashes))
        text_of = {c.content_hash: c.text for c in chunks}
        vectors = embed_in_slices([text_of[h] for h in todo], self.embedder.embed)
        embeddings.store_vectors(self.wh, model_id, dict(zip(todo, vectors, strict=True)))
        fresh = dict(zip(todo, vectors, strict=True))
        # Index only chunks whose text was embedded now (the index sync's plan: unchanged
        # rows are not rewritten).
        records = [
            VectorRecord(
                id=c.chunk_id,
                vector=fresh[c.content_hash],
                text=c.text,
                doc_id=c.doc_id,
                source=c.doc_id.split(":", 1)[0],
                content_hash=c.content_hash,
                partition_date="2026-11-24",
            )
            for c in chunks
            if c.content_hash in fresh
        ]
        if records:
            self.index.upsert(records)
        return {
            "chunks": len(chunks),
            "texts_embedded": len(todo),
            "over_256": sum(1 for c in chunks if c.tokens > MODEL_MAX_TOKENS),
        }


def llama_index_run(docs: list[Doc], embed_model: Any, chunk_size: int | None) -> dict[str, int]:
    import tree_sitter_python
    from llama_index.core import Document
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import CodeSplitter, SentenceSplitter
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.core.vector_stores import SimpleVectorStore
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_python.language()))
    nodes_total = 0
    texts: list[str] = []
    for kind, splitter in (
        (
            "document",
            SentenceSplitter(chunk_size=chunk_size) if chunk_size else SentenceSplitter(),
        ),
        (
            "code",
            CodeSplitter(language="python", parser=parser, max_chars=chunk_size * 3)
            if chunk_size
            else CodeSplitter(language="python", parser=parser),
        ),
    ):
        pipeline = IngestionPipeline(
            transformations=[splitter, embed_model],
            docstore=SimpleDocumentStore(),
            vector_store=SimpleVectorStore(),
        )
        batch = [Document(text=d.text, id_=d.doc_id) for d in docs if d.kind == kind]
        nodes = pipeline.run(documents=batch)
        nodes_total += len(nodes)
        texts.extend(n.get_content() for n in nodes)
    counter = default_counter()
    return {
        "chunks": nodes_total,
        "over_256": sum(1 for t in texts if counter.count(t) > MODEL_MAX_TOKENS),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readmes", type=int, default=60)
    ap.add_argument("--stdlib", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    docs = real_documents(args.readmes, args.stdlib)
    embedder = Embedder()
    device, precision, _ = embedder.resolved()
    load_model(model_path(), device, precision)  # both sides start with a loaded model
    hf = HuggingFaceEmbedding(model_name=model_path(), device="cpu")
    root = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    counts: dict[str, dict[str, int]] = {}
    n = iter(range(10_000))

    def ours() -> None:
        counts["ours"] = Ours(root / f"round{next(n)}", embedder).run(docs)

    def theirs() -> None:
        counts["llama_index"] = llama_index_run(docs, hf, None)

    def theirs_256() -> None:
        counts["llama_index_256"] = llama_index_run(docs, hf, 256)

    try:
        med, rounds = interleaved(
            {"ours": ours, "llama_index": theirs, "llama_index_256": theirs_256}, args.rounds
        )
        # Re-runs on one data folder: first, unchanged, 1% of documents changed.
        folder = Ours(root / "reruns", embedder)
        start = time.perf_counter()
        first = folder.run(docs)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = folder.run(docs)
        again_s = time.perf_counter() - start
        # 1% of the documents, at least one, evenly spaced.
        step = max(1, round(len(docs) / max(1, round(len(docs) * 0.01))))
        changed = [
            Doc(
                d.doc_id,
                d.kind,
                d.text + "\n\nThis paragraph changed since the last run.\n",
                d.path,
            )
            if i % step == 0
            else d
            for i, d in enumerate(docs)
        ]
        start = time.perf_counter()
        one_pct = folder.run(changed)
        one_pct_s = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        json.dumps(
            {
                **header(),
                "pipeline_path": f"{device}/{precision}/{embedder.resolved_path(device)}",
                "documents": {
                    "readmes": sum(d.kind == "document" for d in docs),
                    "stdlib_py": sum(d.kind == "code" for d in docs),
                    "characters": sum(len(d.text) for d in docs),
                },
                "chunk_embed_index": {
                    "seconds_median": {k: round(v, 2) for k, v in med.items()},
                    "rounds_s": {k: [round(x, 2) for x in v] for k, v in rounds.items()},
                    "throughput_ratio_ours_over_llama_index": round(
                        med["llama_index"] / med["ours"], 3
                    ),
                    "throughput_ratio_ours_over_llama_index_256": round(
                        med["llama_index_256"] / med["ours"], 3
                    ),
                    "counts": counts,
                },
                "reruns": {
                    "first": {**first, "seconds": round(first_s, 2)},
                    "no_change": {
                        **again,
                        "seconds": round(again_s, 2),
                        "fraction_of_first": round(again_s / first_s, 3),
                    },
                    "one_percent_changed": {
                        **one_pct,
                        "documents_changed": sum(1 for i in range(len(docs)) if i % step == 0),
                        "documents": len(docs),
                        "seconds": round(one_pct_s, 2),
                        "share_of_texts_embedded": round(
                            one_pct["texts_embedded"] / max(first["texts_embedded"], 1), 4
                        ),
                    },
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
