"""Chunk quality on the demo and on real text nobody here wrote.

    PYTHONPATH=$PWD .venv/bin/python bench/chunk_quality.py [--metadata 150] [--stdlib 60]

Demo: the sample landing zone (scale 1, seed 7, reference date 2026-11-24) normalized by
every source's own document builder and chunked by ``chunk_doc``; per kind and for Slack
and Gong apart: chunks, median tokens, chunks under 15 tokens, chunks whose text has no
letter or digit past its label (a rule, front matter leftovers), the largest chunk.
Real text: the long descriptions (READMEs) of installed packages (``*.dist-info/METADATA``
of the venv's site-packages) chunked as documents and standard-library modules chunked
as code: the count over the model's 256 word pieces must be 0.

The script only uses what the chunkers have always exported, so pointing PYTHONPATH at an
older tree (``git archive <commit> sophia_pipeline | tar -x -C DIR``) measures "before".
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import sysconfig
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from sophia_pipeline.processing.chunking.dispatch import chunk_doc, chunk_for_kind
from sophia_pipeline.processing.tokens import default_counter
from sophia_pipeline.sample.generator import generate
from sophia_pipeline.sources.registry import SPECS, RawRecord

_NO_WORDS = re.compile(r"[^\w]*")


def demo_documents(landing: Path) -> list[Any]:
    start, end = date(2026, 1, 1), date(2027, 1, 1)
    docs = []
    for spec in SPECS.values():
        accepted, _, _ = spec.read_landing(landing, start, end)
        newest: dict[str, RawRecord] = {}
        for a in accepted:
            rec = RawRecord(a.entity, a.record, json.loads(a.raw), a.day)
            newest[f"{a.entity}:{spec.record_id(a.entity, a.record)}"] = rec
        records = list(newest.values())
        docs += [d for d, _ in spec.to_documents(records, lambda r=records: r)]
    return docs


def stats(tokens: list[int], junk: int) -> dict[str, Any]:
    return {
        "chunks": len(tokens),
        "median_tokens": statistics.median(tokens) if tokens else 0,
        "under_15": sum(1 for t in tokens if t < 15),
        "over_256": sum(1 for t in tokens if t > 256),
        "max_tokens": max(tokens, default=0),
        "no_words": junk,
    }


def body_of(text: str, label: str | None) -> str:
    if label and text.startswith(label + ": "):
        return text[len(label) + 2 :]
    return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--metadata", type=int, default=150, help="package READMEs to chunk")
    ap.add_argument("--stdlib", type=int, default=60, help="stdlib modules to chunk")
    args = ap.parse_args()
    counter = default_counter()
    out: dict[str, Any] = {}

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), scale=1, seed=7, reference_date=date(2026, 11, 24))
        docs = demo_documents(Path(tmp))
    groups: dict[str, list[int]] = defaultdict(list)
    junk: dict[str, int] = defaultdict(int)
    examples: dict[str, str] = {}
    for d in docs:
        key = f"{d.kind.value}/{d.source}" if d.kind.value == "conversation" else d.kind.value
        for c in chunk_doc(d, counter):
            for k in (key, "all"):
                groups[k].append(c.tokens)
                junk[k] += _NO_WORDS.fullmatch(body_of(c.text, c.label)) is not None
            examples.setdefault(key, c.text[:300])
    out["demo"] = {k: stats(v, junk[k]) for k, v in sorted(groups.items())}
    out["demo_examples"] = examples

    site = Path(sysconfig.get_paths()["purelib"])
    metas = sorted(site.glob("*.dist-info/METADATA"))
    step = max(1, len(metas) // max(1, args.metadata))
    tokens: list[int] = []
    bad = 0
    for path in metas[::step][: args.metadata]:
        raw = path.read_text(encoding="utf-8", errors="replace")
        body = raw.split("\n\n", 1)[1] if "\n\n" in raw else ""
        for c in chunk_for_kind("document", str(path), body, counter):
            tokens.append(c.tokens)
            bad += _NO_WORDS.fullmatch(body_of(c.text, c.label)) is not None
    out["package_readmes"] = {"files": len(metas[::step][: args.metadata]), **stats(tokens, bad)}

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    mods = sorted(p for p in stdlib.glob("*.py"))
    step = max(1, len(mods) // max(1, args.stdlib))
    tokens = []
    for path in mods[::step][: args.stdlib]:
        text = path.read_text(encoding="utf-8", errors="replace")
        tokens += [c.tokens for c in chunk_for_kind("code", str(path), text, counter)]
    out["stdlib_code"] = {"files": len(mods[::step][: args.stdlib]), **stats(tokens, 0)}
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
