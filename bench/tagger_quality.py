"""Competitor-tagger quality, two ways.

    .venv/bin/python bench/tagger_quality.py [--scale 1] [--seeds 7 11 23] [--labelled-only]

1. The hand-labelled set (``bench/data/competitor_mentions_labelled.jsonl``): call,
   ticket and Slack excerpts written by hand, not by the sample generator, with tricky
   negatives (the company's own tools, integration tickets, code and shell commands,
   homonyms) and positives (evaluations, pricing comparisons, churn threats), scored with
   the packaged demo catalog: precision and recall of real competitor mentions.
2. The sample generator's ground truth per seed (fixed reference date): does the matcher
   find every naming of the products the sample speaks of (span-level P/R, per call)?
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path

from sophia_pipeline.processing.tagging.competitors import CompetitorMatcher
from sophia_pipeline.sample.generator import generate
from sophia_pipeline.sample.scoring import read_labelled, score_gong, score_labelled

LABELLED = Path(__file__).parent / "data" / "competitor_mentions_labelled.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    ap.add_argument("--labelled-only", action="store_true")
    args = ap.parse_args()
    items = read_labelled(LABELLED)
    score = score_labelled(items, CompetitorMatcher())
    print(json.dumps({"set": "hand-labelled", **asdict(score)}, indent=1))
    if args.labelled_only:
        return
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), scale=args.scale, seed=seed, reference_date=date(2026, 11, 24))
            sample = score_gong(Path(tmp))
        print(json.dumps({"seed": seed, "scale": args.scale, **asdict(sample)}))


if __name__ == "__main__":
    main()
