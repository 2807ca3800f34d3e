"""Embed stage and precision paths: the pipeline's embed stage against bare ``encode``, and
every CPU precision/path against fp32 ``encode`` on the same texts.

    .venv/bin/python bench/precision_paths.py [--texts 400] [--rounds 5]
    # the AVX2-only case on an AVX-512 machine: torch's AVX2 kernels, oneDNN capped at AVX2
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python bench/precision_paths.py

Variants (interleaved rounds, medians): bare fp32 ``encode`` (batch 16); the pipeline's
embed stage (``embed_in_slices`` + ``Embedder()``, whatever ``auto`` picks here); bare
``encode`` at the pipeline's precision; bf16 autocast ``encode``; dynamic int8 of the
linear layers (per-tensor and per-channel) through ``encode``; the bulk path in fp32.
Quality beside each: mean and minimum cosine to fp32, and nearest-neighbour agreement
(the share of each text's 10 nearest texts under fp32 that the variant also ranks in its
10 nearest). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from embed_throughput import readme_paragraphs  # noqa: E402
from machine import header, interleaved  # noqa: E402

from sophia_pipeline.processing.embedding import embed_in_slices  # noqa: E402
from sophia_pipeline.processing.tokens import default_counter, model_path  # noqa: E402
from sophia_pipeline.resources.bulk_encode import bulk_encode  # noqa: E402
from sophia_pipeline.resources.embedder import (  # noqa: E402
    CPU_TOKEN_BUDGET,
    Embedder,
    choose_precision,
    cpu_flags,
    load_model,
)


def quantized(per_channel: bool) -> object:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path(), device="cpu")
    spec = (
        {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
        if per_channel
        else {torch.nn.Linear}
    )
    model[0].model = torch.ao.quantization.quantize_dynamic(model[0].model, spec, dtype=torch.qint8)
    kinds = {type(m).__name__ for m in model[0].auto_model.modules()}
    # The swap must reach what encode() runs: no float Linear left, quantized ones present.
    assert "Linear" in kinds and all(
        not isinstance(m, torch.nn.Linear) for m in model[0].auto_model.modules()
    ), kinds
    return model


def neighbour_agreement(ref: np.ndarray, other: np.ndarray, k: int = 10) -> float:
    k = min(k, len(ref) - 1)
    if k <= 0:
        return 1.0

    def top(v: np.ndarray) -> np.ndarray:
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1)[:, :k]

    a, b = top(ref), top(other)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    texts = readme_paragraphs(args.texts)
    counter = default_counter()
    tokens = sum(counter.count(t) for t in texts)
    fp32 = load_model(model_path(), "cpu", "fp32")
    embedder = Embedder(device="cpu")
    device, precision, batch = embedder.resolved()
    int8 = quantized(per_channel=False)
    int8_pc = quantized(per_channel=True)

    def encode(model: object) -> Callable[[], np.ndarray]:
        return lambda: model.encode(  # type: ignore[attr-defined, no-any-return]
            texts, batch_size=16, normalize_embeddings=True, show_progress_bar=False
        )

    def bf16() -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return encode(fp32)()

    def bare_same_precision() -> np.ndarray:
        return bf16() if precision == "bf16" else encode(fp32)()

    variants: dict[str, Callable[[], np.ndarray]] = {
        "bare_fp32_encode": encode(fp32),
        "pipeline_embed_stage": lambda: embed_in_slices(texts, embedder.embed),
        "bare_encode_same_precision": bare_same_precision,
        "bf16_autocast_encode": bf16,
        "int8_dynamic_encode": encode(int8),
        "int8_dynamic_per_channel_encode": encode(int8_pc),
        "bulk_fp32": lambda: bulk_encode(fp32, texts, token_budget=CPU_TOKEN_BUDGET),
        "bulk_fp32_budget_16k": lambda: bulk_encode(fp32, texts, token_budget=16_384),
    }
    outputs = {k: fn() for k, fn in variants.items()}  # warm-up, and the vectors compared
    med, rounds = interleaved(variants, args.rounds)
    ref = outputs["bare_fp32_encode"]
    base = med["bare_fp32_encode"]
    report = {
        name: {
            "texts_per_s": round(len(texts) / med[name], 1),
            "tokens_per_s": round(tokens / med[name]),
            "speed_vs_fp32_encode": round(base / med[name], 3),
            "mean_cosine_vs_fp32": round(float(np.mean(np.sum(ref * v, axis=1))), 5),
            "min_cosine_vs_fp32": round(float(np.min(np.sum(ref * v, axis=1))), 5),
            "nn10_agreement": round(neighbour_agreement(ref, v), 4),
            "rounds_s": [round(x, 2) for x in rounds[name]],
        }
        for name, v in outputs.items()
    }
    print(
        json.dumps(
            {
                **header(),
                "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
                "env": {
                    k: os.environ.get(k) for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
                },
                "threads": torch.get_num_threads(),
                "auto_precision": choose_precision("cpu", cpu_flags()),
                "pipeline_path": f"{device}/{precision}/{embedder.resolved_path(device)}",
                "encode_batch": batch,
                "texts": len(texts),
                "tokens": tokens,
                "pipeline_over_bare_same_precision": round(
                    med["bare_encode_same_precision"] / med["pipeline_embed_stage"], 3
                ),
                "variants": report,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
