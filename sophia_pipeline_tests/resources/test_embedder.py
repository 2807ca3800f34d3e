"""The embedder: precision picked by what the CPU can do, and every path agrees with fp32."""

from __future__ import annotations

import numpy as np
import pytest

from sophia_pipeline.resources import embedder as emb
from sophia_pipeline.resources.embedder import Embedder, pick_device_and_precision

TEXTS = [
    "Rita: We can do an annual discount if you sign before the end of the quarter.",
    "Paul: Salesforce's renewal is painful, and our reps hate the UI.",
    "Install > Linux: use apt to install the agent, then restart the service.",
    "def chunk(text):\n    return [text[i : i + 10] for i in range(0, len(text), 10)]",
]


@pytest.mark.parametrize(
    ("flag", "expected"), [("amx_bf16", "bf16"), ("avx512_bf16", "bf16"), (None, "fp32")]
)
def test_cpu_precision_follows_native_bf16_support(
    monkeypatch: pytest.MonkeyPatch, flag: str | None, expected: str
) -> None:
    monkeypatch.setattr(emb, "cpu_bf16_feature", lambda: flag)
    assert pick_device_and_precision("cpu", "auto") == ("cpu", expected)
    assert pick_device_and_precision("cpu", "fp32") == ("cpu", "fp32")


@pytest.mark.slow  # loads the real model
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_vectors_are_unit_length_in_order_and_match_fp32(precision: str) -> None:
    reference = Embedder(device="cpu", precision="fp32").embed(TEXTS)
    vectors = Embedder(device="cpu", precision=precision).embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.min() > 0.999
    # order preserved: each text is nearest to its own fp32 vector
    assert list(np.argmax(vectors @ reference.T, axis=1)) == list(range(len(TEXTS)))


def test_empty_input_embeds_nothing() -> None:
    assert Embedder().embed([]).shape == (0, 384)
