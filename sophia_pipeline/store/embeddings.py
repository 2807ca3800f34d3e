"""EMBEDDINGS: the embedding cache, one vector per (content hash, model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sophia_pipeline.processing.vectors import from_bytes, to_bytes

from .common import in_batches, now_utc
from .warehouse import Warehouse


def cached_hashes(wh: Warehouse, model_id: str, hashes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for batch in in_batches(sorted(set(hashes))):
        ph = ", ".join("?" for _ in batch)
        df = wh.query(
            "SELECT content_hash FROM embeddings.embedding_cache "
            f"WHERE model_id = ? AND content_hash IN ({ph})",
            [model_id, *batch],
        )
        found.update(df["content_hash"])
    return found


def cached_vectors(
    wh: Warehouse, model_id: str, hashes: Sequence[str], dim: int
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for batch in in_batches(sorted(set(hashes))):
        ph = ", ".join("?" for _ in batch)
        df = wh.query(
            "SELECT content_hash, vector FROM embeddings.embedding_cache "
            f"WHERE model_id = ? AND content_hash IN ({ph})",
            [model_id, *batch],
        )
        for h, blob in zip(df["content_hash"], df["vector"], strict=True):
            out[h] = from_bytes(blob, dim)
    return out


def store_vectors(wh: Warehouse, model_id: str, vectors: dict[str, np.ndarray]) -> int:
    if not vectors:
        return 0
    now = now_utc()
    df = pd.DataFrame(
        [
            {
                "content_hash": h,
                "model_id": model_id,
                "dim": int(v.shape[0]),
                "vector": to_bytes(v),
                "created_at": now,
            }
            for h, v in vectors.items()
        ]
    )
    hashes = list(vectors)
    total = 0
    for batch in in_batches(hashes):
        ph = ", ".join("?" for _ in batch)
        total += wh.replace_where(
            "embeddings.embedding_cache",
            df[df["content_hash"].isin(batch)],
            f"model_id = ? AND content_hash IN ({ph})",
            [model_id, *batch],
        )
    return total
