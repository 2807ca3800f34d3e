"""DataFrame rows as plain dicts keyed by column name."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """``df.to_dict("records")`` typed as it is used: the warehouse's column names are
    strings (pandas-stubs types the keys as any ``Hashable``)."""
    return cast(list[dict[str, Any]], df.to_dict("records"))
