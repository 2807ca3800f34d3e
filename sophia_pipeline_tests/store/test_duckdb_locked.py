"""The warehouse file held by another process: a bounded wait, then an error that says
what happened (not DuckDB's bare IOException after a silent two minutes), and the file
intact once the other process lets go."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse, WarehouseLockedError

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(600)
"""


def test_locked_file_bounded_wait_clear_error_and_no_corruption(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    wh = DuckDBWarehouse(path=str(path), lock_wait_s=1.0)
    wh.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    wh.execute("INSERT INTO t SELECT range FROM range(1000)")

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseLockedError, match=r"stayed locked .* for 1 s") as info:
            wh.execute("INSERT INTO t VALUES (5000)")
        assert str(holder.pid) in str(info.value)  # DuckDB names the holder
    finally:
        holder.kill()
        holder.wait()

    assert int(wh.query("SELECT COUNT(*) AS n FROM t")["n"].iloc[0]) == 1000
    wh.execute("INSERT INTO t VALUES (5000)")  # writable again
