"""Tables other tools load into the warehouse, read here: Airbyte's raw stream tables and
the table an Estuary Flow materialization writes. Their names come from configuration,
so every name is checked before it is put into SQL."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pandas as pd

from .warehouse import Warehouse, checked_table

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def airbyte_records(wh: Warehouse, table: str, lo: datetime, hi: datetime) -> pd.DataFrame:
    """(extracted_at, data) of the rows Airbyte extracted in [lo, hi) (naive bounds,
    compared in the session's time zone), oldest first."""
    return wh.query(
        f"SELECT _airbyte_extracted_at AS extracted_at, _airbyte_data AS data "
        f"FROM {checked_table(table)} "
        "WHERE _airbyte_extracted_at >= ? AND _airbyte_extracted_at < ? "
        "ORDER BY _airbyte_extracted_at",
        [lo, hi],
    )


def newest_and_rows(wh: Warehouse, table: str, column: str) -> tuple[Any, int]:
    """The largest value of ``column`` in ``table`` (None or NA when empty) and its rows."""
    if not _COLUMN.match(column):
        raise ValueError(f"not a column name: {column!r}")
    df = wh.query(f"SELECT MAX({column}) AS loaded_at, COUNT(*) AS n FROM {checked_table(table)}")
    return df["loaded_at"].iloc[0], int(df["n"].iloc[0])
