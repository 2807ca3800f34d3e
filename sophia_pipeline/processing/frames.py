"""DataFrame rows as plain dicts keyed by column name, and their date values as dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

import pandas as pd


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """``df.to_dict("records")`` typed as it is used: the warehouse's column names are
    strings (pandas-stubs types the keys as any ``Hashable``)."""
    return cast(list[dict[str, Any]], df.to_dict("records"))


def as_day(value: Any) -> date:
    """A date as stored (date, datetime, pandas Timestamp, ISO text) -> date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()
