"""CoStar: property batch files, row schema and normalization.

Landing files: ``landing/costar/batches/costar_<YYYY-MM-DD>.csv``, one file per scheduled
delivery, named by its delivery date. UTF-8, a header row, comma-delimited, fields quoted
only when needed (``"``-doubled inside), ``\\n`` line endings, no line breaks inside fields,
so a row's line number is a stable checkpoint position. Columns, in order:

``property_id, address, city, state, property_type, square_feet, asking_rent_psf,
vacancy_rate, last_sale_price, last_sale_date, notes, updated_at``

An empty field is null. ``vacancy_rate`` is a fraction (0.125 = 12.5 %), ``updated_at`` is
ISO-8601 UTC. A property re-appears in later batches with fresh figures; the newest
``updated_at`` wins. Each row becomes a DOCUMENT whose text is the free-text ``notes``, with
the figures in ``attributes``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from sophia_pipeline.documents import Document, DocumentKind

SOURCE = "costar"
ENTITY = "property"
COLUMNS = [
    "property_id", "address", "city", "state", "property_type", "square_feet",
    "asking_rent_psf", "vacancy_rate", "last_sale_price", "last_sale_date", "notes",
    "updated_at",
]  # fmt: skip
FILE_PREFIX = "costar_"


class CoStarProperty(BaseModel):
    property_id: str = Field(min_length=1)
    address: str
    city: str
    state: str
    property_type: str
    square_feet: int | None = None
    asking_rent_psf: float | None = None
    vacancy_rate: float | None = Field(default=None, ge=0, le=1)
    last_sale_price: float | None = None
    last_sale_date: date | None = None
    notes: str = ""
    updated_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _blank_is_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (None if v == "" and k != "notes" else v) for k, v in data.items()}
        return data


def batch_date(path: Path) -> date:
    """The delivery date in a batch file's name."""
    return date.fromisoformat(path.stem.removeprefix(FILE_PREFIX))


def read_batch(path: Path) -> Iterator[tuple[int, CoStarProperty]]:
    """(row number, counting data rows from 1, property) for each row of one batch file."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path.name}: unexpected columns {reader.fieldnames}")
        for n, row in enumerate(reader, start=1):
            yield n, CoStarProperty.model_validate(row)


def normalize(prop: CoStarProperty) -> Document:
    figures = prop.model_dump(mode="json", exclude={"notes"})
    return Document(
        doc_id=Document.make_id(SOURCE, ENTITY, prop.property_id),
        source=SOURCE,
        entity_type=ENTITY,
        source_id=prop.property_id,
        kind=DocumentKind.DOCUMENT,
        title=f"{prop.address}, {prop.city}, {prop.state} ({prop.property_type})",
        text=prop.notes,
        occurred_at=prop.updated_at,
        updated_at=prop.updated_at,
        attributes=figures,
    )
