"""Embedding in slices, with progress: the cache decides what reaches the model."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


def embed_in_slices(
    texts: list[str],
    embed: Embed,
    slice_size: int = 512,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Calls ``embed`` on slices so long work reports progress; sorting by length first
    keeps each slice's batches evenly padded, and the result is back in input order."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    parts: list[np.ndarray] = []
    for i in range(0, len(order), slice_size):
        idx = order[i : i + slice_size]
        parts.append(embed([texts[j] for j in idx]))
        if progress:
            progress(min(i + slice_size, len(order)), len(order))
    sorted_vectors = np.concatenate(parts)
    out = np.empty_like(sorted_vectors)
    out[np.asarray(order)] = sorted_vectors
    return out


def timed() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
