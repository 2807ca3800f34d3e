"""The deterministic sample-data generator: landing files for every source, plus the
ground-truth labels the taggers are scored against.

Same ``seed`` and ``reference_date`` give byte-identical files: every random choice comes
from a ``random.Random`` (and a Faker) seeded per source, JSON is written with sorted keys,
and nothing reads the clock: the reference date defaults to ``DEMO_REFERENCE_DATE``, so a
demo re-generated on a later day writes the same records (same ids, same days) instead of
a second, shifted copy of every source.

Each source's generator is a module of this package that defines ``SAMPLE`` (a
``base.SampleSource``: the folders it owns, its run order, its ``write``); this module
finds them all and runs them in order on one shared world. Files are JSON Lines, one per
UTC day of each record's event time (``<source>/<folder>/<day>.jsonl``), except where a
source's module says otherwise (CoStar: ``costar/batches/costar_<day>.csv``, one CSV per
delivery); labels are under ``_labels/`` (their format: ``gong.py``, ``slack.py``).

Only the owned folders and files are removed and rewritten; anything else in
``landing_dir`` is left alone.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date
from pathlib import Path

from .base import SampleRun, SampleSource
from .common import Window, make_faker, make_rng, reset_dirs
from .world import build_world


def sample_sources() -> list[SampleSource]:
    """Every ``SAMPLE`` declared by a module of this package, in run order."""
    package = importlib.import_module(__package__ or "sophia_pipeline.sample")
    found: list[SampleSource] = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_"):  # __main__: the command line, not a generator
            continue
        declared = getattr(
            importlib.import_module(f"{package.__name__}.{module.name}"), "SAMPLE", None
        )
        if isinstance(declared, SampleSource):
            found.append(declared)
    found.sort(key=lambda s: s.order)
    orders = [s.order for s in found]
    if len(set(orders)) != len(orders):
        # Generators share the world: a tie would leave the output to module-name order.
        raise ValueError(f"two sample generators share an order: {orders}")
    return found


def owned(sources: list[SampleSource] | None = None) -> list[str]:
    """The landing folders, then the label files, the generator owns (relative to the
    landing dir), in run order; also the keys of the counts ``generate`` returns."""
    sources = sample_sources() if sources is None else sources
    return [*(f for s in sources for f in s.folders), *(f for s in sources for f in s.labels)]


# The demo's fixed "today": data covers the 90 days before it (2026-08-26..2026-11-23),
# which is where the partitions start by default (``SOPHIA_DATA_START``).
DEMO_REFERENCE_DATE = date(2026, 11, 24)


def generate(
    landing_dir: Path,
    scale: int = 1,
    seed: int = 7,
    reference_date: date | None = None,
) -> dict[str, int]:
    """Writes the sample landing zone; returns records (lines or CSV rows) written per
    owned path, e.g. ``{"gong/calls": 60, "hubspot/deals": 60, ...}``."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    ref = reference_date or DEMO_REFERENCE_DATE
    window = Window.before(ref)
    landing_dir = Path(landing_dir)
    sources = sample_sources()
    paths = owned(sources)
    reset_dirs(landing_dir, paths)

    world = build_world(make_rng(seed, "world"), make_faker(seed, "world"), window, scale)
    run = SampleRun(landing_dir=landing_dir, seed=seed, scale=scale, window=window, world=world)
    counts: dict[str, int] = {}
    for source in sources:
        written = source.write(run)
        if set(written) != {*source.folders, *source.labels}:
            raise ValueError(
                f"{source.write.__module__} wrote {sorted(written)}, "
                f"not its own {[*source.folders, *source.labels]}"
            )
        counts.update(written)
    return {key: counts[key] for key in paths}
