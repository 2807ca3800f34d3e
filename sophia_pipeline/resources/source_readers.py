"""Where a source's records come from: the interface, and the local landing-file reader.

Production readers (Airbyte-synced tables, the APIs, object storage) implement the same
``read`` and are registered under the same resource keys (``<source>_source``), so the
raw assets never change between profiles.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from sophia_pipeline.sources.landing import Accepted, Rejected
from sophia_pipeline.sources.registry import SourceSpec


class SourceReader(dg.ConfigurableResource):
    def read(
        self, spec: SourceSpec, start: date, end: date, log: Any = None
    ) -> tuple[list[Accepted[Any]], list[Rejected], int]:
        """Accepted and rejected records of ``[start, end)``, each accepted one with its
        entity and partition day, and how many files or pages were read."""
        raise NotImplementedError


class LandingFilesReader(SourceReader):
    """Landing files under ``landing_dir/<source>/...`` (the sample generator's, or files
    dropped there by another system)."""

    landing_dir: str

    def read(
        self, spec: SourceSpec, start: date, end: date, log: Any = None
    ) -> tuple[list[Accepted[Any]], list[Rejected], int]:
        return spec.read_landing(Path(self.landing_dir), start, end)
