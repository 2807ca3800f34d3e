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


AVX2_ONLY = frozenset({"sse4_2", "avx", "avx2", "fma", "f16c"})


@pytest.mark.parametrize(
    ("machine", "device", "flags", "expected"),
    [
        (
            "Intel Sapphire Rapids (AMX)",
            "cpu",
            AVX2_ONLY | {"avx512f", "amx_bf16", "amx_tile"},
            "bf16",
        ),
        ("AMD Zen 4 (AVX512-BF16)", "cpu", AVX2_ONLY | {"avx512f", "avx512_bf16"}, "bf16"),
        ("AVX-512 without bf16", "cpu", AVX2_ONLY | {"avx512f", "avx512_vnni"}, "fp32"),
        ("AVX2 only", "cpu", AVX2_ONLY, "fp32"),
        ("CUDA on an AVX2 host", "cuda", AVX2_ONLY, "fp16"),
        ("CUDA on an AMX host", "cuda:0", AVX2_ONLY | {"amx_bf16"}, "fp16"),
    ],
)
def test_precision_is_chosen_from_cpu_flags_and_device(
    monkeypatch: pytest.MonkeyPatch,
    machine: str,
    device: str,
    flags: frozenset[str],
    expected: str,
) -> None:
    assert emb.choose_precision(device, flags) == expected, machine
    # The resource reads the flags through cpu_flags(): force this machine's capability.
    monkeypatch.setattr(emb, "cpu_flags", lambda: flags)
    assert pick_device_and_precision(device, "auto") == (device, expected)
    # An explicit precision is never overridden.
    assert pick_device_and_precision(device, "fp32") == (device, "fp32")


def test_torch_without_avx512_kernels_hides_avx512_and_amx_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run with ATEN_CPU_CAPABILITY=avx2, an AVX512-BF16 CPU is an AVX2 machine to torch:
    the bf16 path would run emulated, so the flags the choice reads drop avx512*/amx*."""
    import torch

    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    flags = emb.cpu_flags()
    assert not any(f.startswith(("avx512", "amx")) for f in flags)
    assert emb.choose_precision("cpu", flags) == "fp32"


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
