"""The bulk path (CUDA's, checked here on CPU): the same vectors as ``encode``, in order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia_pipeline.processing.tokens import MODEL_MAX_TOKENS
from sophia_pipeline.resources.bulk_encode import token_budget_batches
from sophia_pipeline.resources.embedder import Embedder, load_model, model_path


@given(st.lists(st.integers(min_value=1, max_value=300), max_size=200), st.integers(1, 5000))
def test_batches_cover_every_index_once_within_the_budget(lengths: list[int], budget: int) -> None:
    batches = list(token_budget_batches(lengths, budget))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    for batch in batches:
        width = max(lengths[i] for i in batch)
        assert lengths[batch[0]] == width  # first row is the widest: the padding width
        # Over budget only as a lone row that alone exceeds it.
        assert len(batch) * width <= budget or len(batch) == 1


def test_batches_are_cut_longest_first_and_filled_up_to_the_budget() -> None:
    lengths = [5, 200, 7, 190, 6, 210]
    # 2 x 210 fits 420; 190 opens a batch padded to 190 that takes one more row (380).
    assert list(token_budget_batches(lengths, 420)) == [[5, 1], [3, 2], [4, 0]]
    # Short texts travel many to a batch: 64 rows of 8 tokens in one 512-token batch.
    assert list(token_budget_batches([8] * 64, 512)) == [list(range(64))]


def _texts() -> list[str]:
    long = " ".join(f"word{i} salesforce renewal" for i in range(400))  # far past 256 pieces
    return [
        "Rita: We can do an annual discount if you sign before the end of the quarter.",
        "",
        long,
        "   ",
        "def chunk(text):\n    return [text[i : i + 10] for i in range(0, len(text), 10)]",
        long + " a different tail that truncation must drop",
        "Paul: Salesforce's renewal is painful, and our reps hate the UI.",
        "short",
    ] * 3


@pytest.mark.slow  # loads the real model
@pytest.mark.parametrize("budget", [1, 300, 4096, 1 << 20])
def test_bulk_matches_encode_text_by_text(budget: int) -> None:
    texts = _texts()
    model = load_model(model_path(), "cpu", "fp32")
    reference = model.encode(texts, batch_size=16, normalize_embeddings=True)
    vectors = Embedder(device="cpu", precision="fp32", path="bulk", token_budget=budget).embed(
        texts
    )
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.min() >= 0.999, cosine
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # Truncation at 256 word pieces exactly as encode: two texts that differ only past the
    # limit get the same vector, on both paths.
    long_tokens = len(model.tokenizer(texts[2])["input_ids"])
    assert long_tokens > MODEL_MAX_TOKENS
    assert np.allclose(vectors[2], vectors[5], atol=1e-5)
    assert np.allclose(reference[2], reference[5], atol=1e-5)
    # Order preserved: each text's vector is nearest to its own reference, up to exact
    # duplicates in the list.
    nearest = np.argmax(vectors @ reference.T, axis=1)
    same = [np.allclose(reference[int(j)], reference[i], atol=1e-5) for i, j in enumerate(nearest)]
    assert all(same)


@pytest.mark.slow  # loads the real model
def test_bulk_under_bf16_autocast_agrees_with_fp32() -> None:
    texts = _texts()[:8]
    reference = Embedder(device="cpu", precision="fp32").embed(texts)
    vectors = Embedder(device="cpu", precision="bf16", path="bulk").embed(texts)
    assert np.sum(vectors * reference, axis=1).min() > 0.99


def test_empty_input_on_the_bulk_path() -> None:
    assert Embedder(device="cpu", path="bulk").embed([]).shape == (0, 384)
