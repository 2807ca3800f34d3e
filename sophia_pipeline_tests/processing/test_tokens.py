"""The token counter reads tokenizer.json alone, and counts as transformers does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sophia_pipeline.processing.tokens import HFTokenCounter, model_path

REPO = Path(__file__).resolve().parents[2]

TEXTS = [
    "",
    " ",
    "Héllo WÖRLD, ünïcode: 日本語のテキスト and emoji 🚀\u200b\x00 tabs\t\nnew lines",
    "def f(x):\n    return x ** 2  # squares\n",
    "Pricing objection: Clari was 20% cheaper. " * 40,  # past 128 (the file's truncation)
    "word " * 700,  # past 512 (the model's maximum length)
]


def test_counts_match_transformers_fast_tokenizer() -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(model_path())
    reference.model_max_length = 1_000_000
    counter = HFTokenCounter()
    expected = [
        len(reference(t, add_special_tokens=True, truncation=False)["input_ids"]) for t in TEXTS
    ]
    assert [counter.count(t) for t in TEXTS] == expected
    assert expected[-1] > 700  # neither padded nor truncated


def test_chunk_command_imports_neither_torch_nor_dagster(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("# Install\n\n" + "Use apt to install it. " * 100)
    code = (
        "import sys; from sophia_pipeline.cli import main; "
        f"rc = main(['chunk', '--kind', 'document', {str(doc)!r}]); "
        "heavy = sorted(m for m in ('torch', 'transformers', 'dagster', 'sentence_transformers') "
        "if m in sys.modules); "
        "print('HEAVY', heavy, file=sys.stderr); sys.exit(rc or bool(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "SOPHIA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("\n") > 1
