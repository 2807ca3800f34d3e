"""CoStar checkpointing: a load killed half-way through a file resumes after its last
committed batch, and the warehouse ends with every row exactly once."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.resources.costar_checkpoint import load_batch_file
from sophia_pipeline.resources.prod_readers import CoStarBatchReader
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources import costar
from sophia_pipeline.sources.registry import SPECS, raw_tables
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.store.ops import read_checkpoint
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline_tests.conftest import fakesnow_warehouse

DAY = date(2026, 9, 1)
ROWS = 200
BATCH = 20
KILL_AT_BATCH = 6  # batches 1-5 (rows 1-100) committed, batch 6 in flight
POISON = {37, 150}  # one bad row in each half of the file

LOADER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
    from sophia_pipeline.resources.costar_checkpoint import load_batch_file

    db, path, batch, kill_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    def before_commit(n, rows_done):
        # Inside the batch's transaction: its rows are written but not committed.
        print(f"in-flight {n} {rows_done}", flush=True)
        if n == kill_at:
            time.sleep(120)  # the test kills us here

    load_batch_file(DuckDBWarehouse(path=db), path, batch_size=batch, before_commit=before_commit)
    print("finished", flush=True)
    """
)


def row(i: int, rent: str = "31.50") -> dict[str, str]:
    return {
        "property_id": f"CS-{100000 + i}",
        "address": f"{i} Market St",
        "city": "San Francisco",
        "state": "CA",
        "property_type": "Office",
        "square_feet": str(10_000 + i),
        "asking_rent_psf": rent,
        # A vacancy rate above 1 breaks the schema (it is a fraction).
        "vacancy_rate": "7.5" if i in POISON else "0.125",
        "last_sale_price": "",
        "last_sale_date": "",
        "notes": f'Suite {i}, "turnkey", with furniture',
        "updated_at": "2026-09-01T06:00:00Z",
    }


def write_batch(folder: Path, rows: list[dict[str, str]], day: date = DAY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"costar_{day.isoformat()}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=costar.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def batch_file(tmp_path: Path) -> Path:
    return write_batch(tmp_path / "batches", [row(i) for i in range(1, ROWS + 1)])


def raw_ids(wh: Warehouse) -> list[str]:
    return list(wh.query("SELECT record_id FROM raw.costar_properties")["record_id"])


def dead_letter_lines(wh: Warehouse) -> list[tuple[int, int]]:
    df = wh.query("SELECT line_no, attempts FROM ops.dead_letters ORDER BY line_no")
    return [(int(n), int(a)) for n, a in zip(df["line_no"], df["attempts"], strict=True)]


def kill_mid_file(db: Path, path: Path, tmp_path: Path) -> list[str]:
    """Runs the loader in a subprocess and SIGKILLs it inside batch KILL_AT_BATCH."""
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(path), str(BATCH), str(KILL_AT_BATCH)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    seen: list[str] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        for line in _lines(proc.stdout, deadline):
            seen.append(line)
            if line.startswith(f"in-flight {KILL_AT_BATCH} "):
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, seen
    return seen


def _lines(stream: object, deadline: float) -> Iterator[str]:
    for line in stream:  # type: ignore[attr-defined]
        yield line.strip()
        if time.monotonic() > deadline:
            raise TimeoutError("the loader never reached the batch to kill it in")


@pytest.mark.slow  # a crash test (subprocess, SIGKILL)
def test_sigkill_mid_file_then_restart_loads_every_row_exactly_once(
    batch_file: Path, tmp_path: Path, data_dir: Path
) -> None:
    db = tmp_path / "warehouse.duckdb"
    wh = DuckDBWarehouse(path=str(db), raw_tables=raw_tables())
    wh.ensure_schema()

    seen = kill_mid_file(db, batch_file, tmp_path)
    assert "finished" not in seen and len(seen) == KILL_AT_BATCH

    # What survived the kill is exactly the committed batches, checkpoint included.
    committed = (KILL_AT_BATCH - 1) * BATCH
    cp = read_checkpoint(wh, "costar", batch_file.name)
    assert cp is not None and cp.rows_done == committed and not cp.completed
    assert len(raw_ids(wh)) == committed - 1  # row 37 is a dead letter
    assert dead_letter_lines(wh) == [(37, 1)]

    # The restart goes through the production reader and the real raw asset.
    settings = load_settings()
    raw_asset = source_assets(SPECS["costar"], settings)[0]
    result = dg.materialize(
        [raw_asset],
        partition_key=DAY.isoformat(),
        resources={
            "warehouse": wh,
            "costar_source": CoStarBatchReader(
                batch_dir=str(batch_file.parent), warehouse=wh, batch_size=BATCH
            ),
        },
    )
    assert result.success

    ids = raw_ids(wh)
    assert len(ids) == len(set(ids)) == ROWS - len(POISON)
    assert set(ids) == {f"CS-{100000 + i}" for i in range(1, ROWS + 1) if i not in POISON}
    assert dead_letter_lines(wh) == [(37, 1), (150, 1)]  # each once, none re-counted
    cp = read_checkpoint(wh, "costar", batch_file.name)
    assert cp is not None and cp.completed and cp.rows_done == cp.rows_total == ROWS
    node = dg.AssetKey.from_user_string(SPECS["costar"].raw_asset).to_python_identifier()
    meta = result.asset_materializations_for_node(node)[0].metadata
    assert meta["window_files_read"].value == 1
    # The counts are what the restart committed (rows 101-200, row 150 a dead letter).
    assert meta["window_records_new"].value == ROWS - committed - 1
    assert meta["window_records_already_loaded"].value == 0
    assert meta["window_dead_letters"].value == 1

    # A finished file is never read again.
    again = load_batch_file(wh, batch_file, batch_size=BATCH)
    assert again.was_complete and again.batches == 0
    assert len(raw_ids(wh)) == ROWS - len(POISON)


def test_a_redelivered_file_with_other_content_starts_over_and_adds_only_changes(
    batch_file: Path, warehouse: DuckDBWarehouse
) -> None:
    first = load_batch_file(warehouse, batch_file, batch_size=64)
    assert first.loaded == ROWS - len(POISON) and first.batches == 4

    rows = [row(i, rent="35.00" if i == 5 else "31.50") for i in range(1, ROWS + 1)]
    write_batch(batch_file.parent, rows)
    second = load_batch_file(warehouse, batch_file, batch_size=64)
    assert second.resumed_from == 0 and second.loaded == 1
    assert second.already_loaded == ROWS - len(POISON) - 1
    assert len(raw_ids(warehouse)) == ROWS - len(POISON) + 1  # one new version of CS-100005


def test_a_failed_batch_commits_neither_rows_nor_checkpoint(
    batch_file: Path, warehouse: DuckDBWarehouse
) -> None:
    def fail_in_third(n: int, rows_done: int) -> None:
        if n == 3:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        load_batch_file(warehouse, batch_file, batch_size=BATCH, before_commit=fail_in_third)
    cp = read_checkpoint(warehouse, "costar", batch_file.name)
    assert cp is not None and cp.rows_done == 2 * BATCH
    assert len(raw_ids(warehouse)) == 2 * BATCH - 1  # row 37 is a dead letter

    resumed = load_batch_file(warehouse, batch_file, batch_size=BATCH)
    assert resumed.resumed_from == 2 * BATCH
    assert len(set(raw_ids(warehouse))) == len(raw_ids(warehouse)) == ROWS - len(POISON)


def test_a_wrong_header_is_dead_lettered_without_a_checkpoint(
    tmp_path: Path, warehouse: DuckDBWarehouse
) -> None:
    path = tmp_path / "costar_2026-09-02.csv"
    path.write_text("id,address\n1,Main St\n")
    report = load_batch_file(warehouse, path)
    assert report.dead_letters == 1 and report.batches == 0
    assert read_checkpoint(warehouse, "costar", path.name) is None
    error = warehouse.query("SELECT error FROM ops.dead_letters")["error"].iloc[0]
    assert "unexpected columns" in error


def test_the_same_transaction_works_on_snowflake(tmp_path: Path, batch_file: Path) -> None:
    with fakesnow_warehouse(tmp_path) as wh:
        with pytest.raises(RuntimeError), wh.transaction() as tx:
            tx.execute("DELETE FROM ops.load_checkpoints")
            raise RuntimeError("rolled back")

        report = load_batch_file(wh, batch_file, batch_size=100)
        assert report.loaded == ROWS - len(POISON) and report.dead_letters == len(POISON)
        assert len(set(raw_ids(wh))) == ROWS - len(POISON)
        cp = read_checkpoint(wh, "costar", batch_file.name)
        assert cp is not None and cp.completed
