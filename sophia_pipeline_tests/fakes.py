"""Test doubles behind the project's own interfaces.

``HashEmbedder`` stands in for the real embedder in wiring tests that do not test
embedding (KPIs, checks, sensors, schedules, the index sync): same interface, same
dimension, unit-normalized float32 vectors, but computed from a hash of each text, so
it needs no torch and no model load. Its ``model_id`` differs from the real model's, so
the embedding cache never mixes the two. The real model keeps its own tests (the cache,
the precision choice, one end-to-end slice in ``test_gong_slice.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from sophia_pipeline.resources.embedder import Embedder

DIM = 384  # all-MiniLM-L6-v2's dimension: stores and checks see the real shape
HASH_MODEL_ID = "test-sha256-embedder@1"


def hash_vector(text: str) -> np.ndarray:
    """A unit vector determined by ``text`` alone (the same text, the same vector)."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    v = np.random.default_rng(seed).standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


class HashEmbedder(Embedder):
    """Deterministic vectors from a hash of each text; never imports torch."""

    @property
    def model_id(self) -> str:
        return HASH_MODEL_ID

    def resolved(self) -> tuple[str, str, int]:
        return "cpu", "fp32", self.batch_size or 16

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([hash_vector(t) for t in texts])


def with_hash_embedder(resources: Mapping[str, object]) -> dict[str, object]:
    """The code location's resources with the embedder swapped for ``HashEmbedder``."""
    return {**resources, "embedder": HashEmbedder()}
