"""``python -m sophia_pipeline.sample LANDING_DIR [--scale N] [--seed S] [--date YYYY-MM-DD]``"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from .generator import generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sophia_pipeline.sample")
    parser.add_argument("landing_dir", type=Path)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--date", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    counts = generate(args.landing_dir, scale=args.scale, seed=args.seed, reference_date=args.date)
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
