"""Where a source's records come from: the interface, and the local landing-file reader.

A reader is a *fetcher*: given the window and the state the raw asset read for it from the
warehouse (:class:`FetchState`), it returns what it found (:class:`Fetched`: accepted and
rejected records, and the new cursor values) and writes nothing. The raw asset commits the
rows, the dead letters and the new cursors in one warehouse transaction, so a crash before
that commit leaves neither rows nor a moved cursor, and the re-run fetches again.

The one exception is CoStar's batch reader: its files are large, and a killed load must
resume after the last batch it committed, so it commits each batch's rows, dead letters
and file checkpoint while it reads (``resources/costar_checkpoint.py``) and reports what
it committed in :attr:`Fetched.checkpointed` instead of returning those records.

Production readers (Airbyte-synced tables, the APIs, object storage) implement the same
``read`` and are registered under the same resource keys (``<source>_source``), so the
raw assets never change between profiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from sophia_pipeline.sources.landing import Accepted, Rejected
from sophia_pipeline.sources.registry import SourceSpec


@dataclass(frozen=True)
class FetchState:
    """What the raw asset read from the warehouse for a reader before it fetches: the
    source's stored cursors by name, and (for readers that ask through
    :meth:`SourceReader.known_ids_since`) the record ids already in the raw table."""

    cursors: Mapping[str, str] = field(default_factory=dict)
    known_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Loaded:
    """What a commit stored: new record versions, versions already there, dead letters."""

    new: int = 0
    already_loaded: int = 0
    dead_letters: int = 0

    def __add__(self, other: Loaded) -> Loaded:
        return Loaded(
            self.new + other.new,
            self.already_loaded + other.already_loaded,
            self.dead_letters + other.dead_letters,
        )

    @property
    def records(self) -> int:
        return self.new + self.already_loaded + self.dead_letters


@dataclass(frozen=True)
class Fetched:
    """One read: records to commit, and the cursor values to commit with them."""

    accepted: list[Accepted[Any]]  # each with its entity and partition day
    rejected: list[Rejected]  # to dead-letter
    files: int  # files or pages read
    cursors: dict[str, str] = field(default_factory=dict)  # cursor name -> new value
    # Events never change: a stored id is a duplicate whatever its shape (GitHub's poll).
    by_id_only: bool = False
    # CoStar only: what the reader committed itself, batch by batch with its checkpoints.
    checkpointed: Loaded = Loaded()


class SourceReader(dg.ConfigurableResource):
    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        """Accepted and rejected records of ``[start, end)`` and the new cursors, fetched
        from ``state`` on. Writes nothing (CoStar's checkpointed batches excepted: see
        the module docstring)."""
        raise NotImplementedError

    def known_ids_since(self, start: date) -> date | None:
        """From which partition day on the raw asset should pass the ids already stored
        (``FetchState.known_ids``); ``None``: this reader needs none."""
        return None


class LandingFilesReader(SourceReader):
    """Landing files under ``landing_dir/<source>/...`` (the sample generator's, or files
    dropped there by another system)."""

    landing_dir: str

    def read(
        self, spec: SourceSpec, start: date, end: date, state: FetchState, log: Any = None
    ) -> Fetched:
        accepted, rejected, files = spec.read_landing(Path(self.landing_dir), start, end)
        return Fetched(accepted, rejected, files)
