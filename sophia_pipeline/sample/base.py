"""What a source's sample generator declares, and what every generator is handed.

A module of this package that defines ``SAMPLE = SampleSource(...)`` is a source's sample
generator: ``generator.py`` finds it there, with no list to add it to, and runs every one
in ``order`` on one shared ``SampleRun``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faker import Faker

from .common import Window, make_faker, make_rng
from .world import World


@dataclass(frozen=True)
class SampleRun:
    """One run of the generator: where to write, the seed, and the business world every
    source's records are drawn from (companies, contacts, deals, the team)."""

    landing_dir: Path
    seed: int
    scale: int
    window: Window
    world: World

    def rng(self, name: str) -> random.Random:
        """A random stream of the source's own: a change in one generator never shifts
        another's output."""
        return make_rng(self.seed, name)

    def faker(self, name: str) -> Faker:
        return make_faker(self.seed, name)


@dataclass(frozen=True)
class SampleSource:
    """A source's sample generator.

    ``write`` writes the source's landing files (and label files) under
    ``run.landing_dir`` and returns the records written per owned path; it must return
    exactly the paths of ``folders`` and ``labels``, which the generator removes before
    a run (and only those). ``order``: generators run by increasing order, because they
    share the ``World`` and some change it (Gong's calls archive deals, which HubSpot
    then shows; Linear's issue keys are what GitHub's pull requests reference); give a
    new source one that is unique and after what it reads.
    """

    order: int
    folders: tuple[str, ...]  # landing folders, relative to the landing dir
    write: Callable[[SampleRun], dict[str, int]]
    labels: tuple[str, ...] = ()  # ground-truth files under _labels/, relative likewise
