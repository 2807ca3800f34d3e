"""Executive KPIs, pure (no Dagster): ``inputs`` parses the warehouse's rows, ``formulas``
computes each day's row, ``dashboard`` shapes the dashboard's series and ``alerts``
finds competitor threshold crossings."""
