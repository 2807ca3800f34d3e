"""Webhook batches: which landed events a sensor-requested run must load (STUB API: the
webhook-wiring work fills this in)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sophia_pipeline.sources.landing import Accepted, Rejected
from sophia_pipeline.sources.registry import SourceSpec

TAG_PREFIX = "sophia/webhook"


@dataclass(frozen=True)
class WebhookBatch:
    source: str
    from_cursor: str | None
    to_cursor: str

    @property
    def run_key(self) -> str:
        return f"{self.source}:{self.from_cursor or 'start'}->{self.to_cursor}"

    def to_tags(self) -> dict[str, str]:
        return {
            f"{TAG_PREFIX}_source": self.source,
            f"{TAG_PREFIX}_from": self.from_cursor or "",
            f"{TAG_PREFIX}_to": self.to_cursor,
        }

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], source: str) -> WebhookBatch | None:
        if tags.get(f"{TAG_PREFIX}_source") != source:
            return None
        return cls(source, tags.get(f"{TAG_PREFIX}_from") or None, tags[f"{TAG_PREFIX}_to"])


def webhook_records(
    spec: SourceSpec, root: Path, batch: WebhookBatch
) -> tuple[list[Accepted[Any]], list[Rejected]]:
    raise NotImplementedError
