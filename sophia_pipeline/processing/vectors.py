"""Pure helpers for the embedding cache and the vector-index sync."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes, dim: int) -> np.ndarray:
    v = np.frombuffer(bytes(blob), dtype="<f4")
    if v.shape != (dim,):
        raise ValueError(f"cached vector has {v.size} values, expected {dim}")
    return v


def missing_hashes(wanted: list[str], cached: set[str]) -> list[str]:
    """Distinct hashes to embed, in first-seen order: a text repeated in the batch, or
    embedded by any earlier run, is embedded at most once, ever."""
    seen: set[str] = set()
    out = []
    for h in wanted:
        if h not in cached and h not in seen:
            seen.add(h)
            out.append(h)
    return out


@dataclass(frozen=True)
class IndexPlan:
    upsert: list[str]  # chunk ids to write (new, or content/model/chunker changed)
    delete: list[str]  # chunk ids gone from the sources: removed after the writes
    unchanged: int


def plan_index_sync(
    current: dict[str, tuple[str, str, str]], indexed: dict[str, tuple[str, str, str]]
) -> IndexPlan:
    """``current`` and ``indexed`` map chunk id -> (content hash, model id, chunker
    version): what the sources say now versus what the manifest says is in the index."""
    upsert = sorted(cid for cid, key in current.items() if indexed.get(cid) != key)
    delete = sorted(cid for cid in indexed if cid not in current)
    return IndexPlan(upsert=upsert, delete=delete, unchanged=len(current) - len(upsert))
