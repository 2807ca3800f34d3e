"""Disk full while the warehouse writes: a clear error, nothing half-written, and the
file works as before once there is space again. A real full filesystem: a small tmpfs
(mounting needs root; elsewhere the test is skipped)."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(ballast: Path) -> None:
    """Writes zeros until the filesystem refuses."""
    with ballast.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_disk_full_write_fails_clearly_and_the_file_stays_consistent(small_fs: Path) -> None:
    wh = DuckDBWarehouse(path=str(small_fs / "warehouse.duckdb"))
    wh.execute("CREATE TABLE t (id INTEGER, body VARCHAR)")
    wh.execute("INSERT INTO t SELECT range, 'row' FROM range(100)")
    ballast = small_fs / "ballast"
    fill(ballast)

    with pytest.raises(duckdb.Error) as info:
        wh.execute("INSERT INTO t SELECT range, repeat('x', 2000) FROM range(20000)")
    assert "space" in str(info.value).lower()  # says the disk is full

    ballast.unlink()  # space returns
    assert int(wh.query("SELECT COUNT(*) AS n FROM t")["n"].iloc[0]) == 100  # no half insert
    wh.execute("INSERT INTO t SELECT range, repeat('x', 2000) FROM range(2000)")
    assert int(wh.query("SELECT COUNT(*) AS n FROM t")["n"].iloc[0]) == 2100


def test_disk_full_vector_upsert_fails_clearly_and_the_index_stays_consistent(
    small_fs: Path,
) -> None:
    import numpy as np

    from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
    from sophia_pipeline.resources.vector_store import VectorRecord
    from sophia_pipeline_tests.fakes import hash_vector

    def records(start: int, n: int, text: str = "t") -> list[VectorRecord]:
        return [
            VectorRecord(
                id=f"doc:{i}#0",
                vector=hash_vector(str(i)).astype(np.float32),
                text=text,
                doc_id=f"doc:{i}",
                source="gong",
                content_hash=str(i),
                partition_date="2026-11-10",
            )
            for i in range(start, start + n)
        ]

    store = LanceDBVectorStore(uri=str(small_fs / "lancedb"))
    store.upsert(records(0, 100))
    ballast = small_fs / "ballast"
    fill(ballast)

    with pytest.raises(Exception) as info:  # noqa: B017 - LanceDB's own error type
        store.upsert(records(100, 5000, text="x" * 2000))
    assert "space" in str(info.value).lower()

    ballast.unlink()
    assert store.count() == len(store.ids()) == 100  # the failed write left nothing
    store.upsert(records(100, 500))
    assert store.count() == len(store.ids()) == 600
