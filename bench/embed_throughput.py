"""Embedding throughput: the pipeline's embed stage against a bare
``SentenceTransformer.encode`` on the same texts, and bf16 autocast against fp32.

Texts: paragraphs of the README texts shipped in this environment's installed packages
(real prose nobody here wrote), kept to 40-250 word pieces like real chunks.

    .venv/bin/python bench/embed_throughput.py [--texts 400] [--rounds 3]

Rounds alternate the variants (A, B, A, B, ...) so drift on a shared machine hits both;
the median round counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from importlib.metadata import distributions

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from sophia_pipeline.processing.embedding import embed_in_slices
from sophia_pipeline.processing.tokens import default_counter, model_path
from sophia_pipeline.resources.embedder import NATIVE_BF16_FLAGS, Embedder, cpu_flags, load_model


def readme_paragraphs(n: int) -> list[str]:
    counter = default_counter()
    out: list[str] = []
    for dist in sorted(distributions(), key=lambda d: d.metadata["Name"] or ""):
        body = dist.metadata.get_payload() or dist.metadata.get("Description") or ""  # type: ignore[attr-defined]
        for para in str(body).split("\n\n"):
            para = " ".join(para.split())
            if len(para) < 200 or para.count("|") > 4:
                continue
            if 40 <= counter.count(para) <= 250:
                out.append(para)
            if len(out) >= n:
                return out
    return out


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    texts = readme_paragraphs(args.texts)
    counter = default_counter()
    tokens = sum(counter.count(t) for t in texts)
    model = load_model(model_path(), "cpu", "fp32")
    embedder = Embedder()
    device, precision, batch = embedder.resolved()

    def bare() -> np.ndarray:
        return model.encode(
            texts, batch_size=16, normalize_embeddings=True, show_progress_bar=False
        )

    def pipeline() -> np.ndarray:
        return embed_in_slices(texts, embedder.embed)

    def bf16() -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return bare()

    bare(), pipeline()  # warm-up
    times: dict[str, list[float]] = {"bare_fp32": [], "pipeline": [], "bf16_autocast": []}
    for _ in range(args.rounds):
        times["bare_fp32"].append(timed(bare))
        times["pipeline"].append(timed(pipeline))
        times["bf16_autocast"].append(timed(bf16))
    ref, ours, half = bare(), pipeline(), bf16()
    cos_pipeline = float(np.mean(np.sum(ref * ours, axis=1)))
    cos_bf16 = float(np.mean(np.sum(ref * half, axis=1)))
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "texts": len(texts),
        "tokens": tokens,
        "cpu_bf16_feature": sorted(cpu_flags() & NATIVE_BF16_FLAGS),
        "threads": torch.get_num_threads(),
        "pipeline_path": f"{device}/{precision}/batch {batch}",
        "texts_per_s": {k: round(len(texts) / v, 1) for k, v in med.items()},
        "tokens_per_s": {k: round(tokens / v) for k, v in med.items()},
        "ratio_pipeline_over_bare_fp32": round(med["bare_fp32"] / med["pipeline"], 3),
        "ratio_pipeline_over_bare_same_precision": round(
            med["bf16_autocast" if precision == "bf16" else "bare_fp32"] / med["pipeline"], 3
        ),
        "ratio_bf16_over_fp32": round(med["bare_fp32"] / med["bf16_autocast"], 3),
        "mean_cosine_pipeline_vs_bare": round(cos_pipeline, 5),
        "mean_cosine_bf16_vs_fp32": round(cos_bf16, 5),
        "rounds_s": {k: [round(x, 2) for x in v] for k, v in times.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
