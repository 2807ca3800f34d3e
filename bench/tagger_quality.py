"""Tagger quality against the sample generator's ground truth.

    .venv/bin/python bench/tagger_quality.py [--scale 1] [--seeds 7 11 23]

Generates the sample into a temporary folder per seed (fixed reference date) and scores
competitor mentions (span-level precision/recall, and per call) and talking points.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path

from sophia_pipeline.sample.generator import generate
from sophia_pipeline.sample.scoring import score_gong


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    args = ap.parse_args()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), scale=args.scale, seed=seed, reference_date=date(2026, 11, 24))
            score = score_gong(Path(tmp))
        print(json.dumps({"seed": seed, "scale": args.scale, **asdict(score)}))


if __name__ == "__main__":
    main()
