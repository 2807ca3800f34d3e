"""CoStar batch files loaded with checkpoints: a crash resumes, never re-loads or skips.

A batch file is loaded in batches of rows. Each batch is one warehouse transaction that
holds the batch's new raw rows, its dead letters and the file's checkpoint (the last
data row covered). A process killed mid-batch leaves that transaction uncommitted, so
the database discards it together with the checkpoint move; the restart resumes after
the last committed checkpoint. Rows and checkpoint can never disagree, which is what
makes "every row exactly once" hold without trusting any cleanup code.

Checkpoints are keyed by the file's name and content hash: a moved file keeps its
place, a re-delivered file with different content starts from the top (its unchanged
rows are then de-duplicated by record id + content hash, like every raw load).

The warehouse interface commits one table per transaction; a checkpoint needs several.
:func:`transaction` opens one on the implementation's own connection (DuckDB file or
Snowflake session). It is generic, and the Apollo and GitHub readers use it for rows +
cursor too; it belongs on ``Warehouse`` itself once that interface grows one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from sophia_pipeline.resources.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.resources.snowflake_warehouse import SnowflakeWarehouse
from sophia_pipeline.resources.tables import now_utc
from sophia_pipeline.resources.warehouse import Warehouse, checked_table

from . import costar
from .landing import Accepted, Rejected, parse_csv

_IN_BATCH = 500
DEFAULT_BATCH_SIZE = 500

# --- one transaction over several tables ------------------------------------------------


class Transaction:
    """An open transaction: ``?``-parameter SQL on one connection, nothing visible to
    anyone else until the context manager commits."""

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(sql, list(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(sql, list(params))
        return list(self._cur.fetchall())

    def insert(self, table: str, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        columns = list(rows[0])
        sql = (
            f"INSERT INTO {checked_table(table)} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        self._cur.executemany(sql, [[r[c] for c in columns] for r in rows])
        return len(rows)


@contextmanager
def transaction(wh: Warehouse) -> Iterator[Transaction]:
    """One transaction on ``wh``: committed when the block ends, rolled back if it
    raises (and discarded by the database if the process dies inside it)."""
    if isinstance(wh, DuckDBWarehouse):
        # The warehouse's own opener: it waits out another process holding the file lock.
        with wh._connect() as con:
            yield from _in_transaction(con)
    elif isinstance(wh, SnowflakeWarehouse):
        with wh.snowflake.get_connection() as con:
            yield from _in_transaction(con.cursor())
    else:
        raise TypeError(f"no multi-table transaction for {type(wh).__name__}")


def _in_transaction(cursor: Any) -> Iterator[Transaction]:
    cursor.execute("BEGIN")
    try:
        yield Transaction(cursor)
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    cursor.execute("COMMIT")


# --- raw rows, dead letters and cursors inside a transaction ------------------------------


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for i in range(0, len(values), _IN_BATCH):
        yield list(values[i : i + _IN_BATCH])


def append_raw_tx(
    tx: Transaction,
    table: str,
    accepted: Sequence[Accepted[Any]],
    record_id: Callable[[str, Any], str],
    *,
    by_id_only: bool = False,
) -> tuple[int, int]:
    """``tables.append_raw`` inside ``tx``: versions whose (id, content hash) is stored
    are skipped (with ``by_id_only``, any stored id is: events never change, so a
    second delivery of one is a duplicate even if its shape differs). Returns (new,
    already loaded)."""
    keyed = [(record_id(a.entity, a.record), a) for a in accepted]
    ids = sorted({k for k, _ in keyed})
    known: set[tuple[str, str]] = set()
    known_ids: set[str] = set()
    for batch in _chunks(ids):
        ph = ", ".join("?" for _ in batch)
        for rid, digest in tx.rows(
            f"SELECT record_id, content_hash FROM {checked_table(table)} WHERE record_id IN ({ph})",
            batch,
        ):
            known.add((rid, digest))
            known_ids.add(rid)
    loaded_at = now_utc()
    rows = []
    for rid, a in keyed:
        if (rid, a.content_hash) in known or (by_id_only and rid in known_ids):
            continue
        known.add((rid, a.content_hash))
        known_ids.add(rid)
        rows.append(
            {
                "entity": a.entity,
                "record_id": rid,
                "content_hash": a.content_hash,
                "partition_date": a.day,
                "source_file": a.source_file,
                "line_no": a.line_no,
                "payload": a.raw,
                "loaded_at": loaded_at,
            }
        )
    tx.insert(table, rows)
    return len(rows), len(accepted) - len(rows)


def dead_letters_tx(
    tx: Transaction,
    source: str,
    stage: str,
    rejected: Sequence[Rejected],
    partition_date: date | None,
) -> int:
    """``tables.record_dead_letters`` inside ``tx``: upsert by stable id, bumping
    ``attempts`` for one seen before."""
    unique = {r.dead_letter_id: r for r in rejected}
    if not unique:
        return 0
    prior: dict[str, tuple[int, Any]] = {}
    for batch in _chunks(sorted(unique)):
        ph = ", ".join("?" for _ in batch)
        for dl_id, attempts, first_seen in tx.rows(
            "SELECT dead_letter_id, attempts, first_seen FROM ops.dead_letters "
            f"WHERE dead_letter_id IN ({ph})",
            batch,
        ):
            prior[dl_id] = (int(attempts), first_seen)
        tx.execute(f"DELETE FROM ops.dead_letters WHERE dead_letter_id IN ({ph})", batch)
    now = now_utc()
    rows = []
    for dl_id, r in unique.items():
        attempts, first = prior.get(dl_id, (0, now))
        rows.append(
            {
                "dead_letter_id": dl_id,
                "source": source,
                "stage": stage,
                "source_file": r.source_file,
                "line_no": r.line_no,
                "partition_date": partition_date,
                "payload": r.raw,
                "error": r.error,
                "attempts": attempts + 1,
                "first_seen": first,
                "last_seen": now,
            }
        )
    return tx.insert("ops.dead_letters", rows)


def set_cursor_tx(
    tx: Transaction, source: str, name: str, value: str, run_id: str | None = None
) -> None:
    tx.execute(
        "DELETE FROM ops.source_cursors WHERE source = ? AND cursor_name = ?", [source, name]
    )
    tx.insert(
        "ops.source_cursors",
        [
            {
                "source": source,
                "cursor_name": name,
                "cursor_value": value,
                "run_id": run_id,
                "updated_at": now_utc(),
            }
        ],
    )


def read_cursor(wh: Warehouse, source: str, name: str) -> str | None:
    df = wh.query(
        "SELECT cursor_value FROM ops.source_cursors WHERE source = ? AND cursor_name = ?",
        [source, name],
    )
    return None if df.empty else str(df["cursor_value"].iloc[0])


# --- checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    file_key: str
    file_sha256: str
    rows_done: int
    completed: bool
    rows_total: int | None = None


@dataclass
class FileLoad:
    """What one call of :func:`load_batch_file` did."""

    file_key: str
    resumed_from: int = 0  # data rows already committed by an earlier (crashed) run
    rows_total: int = 0
    batches: int = 0
    loaded: int = 0  # new raw record versions
    already_loaded: int = 0
    dead_letters: int = 0
    was_complete: bool = False  # nothing to do: an earlier run finished this file
    accepted: list[Accepted[Any]] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checkpoint(wh: Warehouse, source: str, file_key: str) -> Checkpoint | None:
    df = wh.query(
        "SELECT file_key, file_sha256, rows_done, completed, rows_total "
        "FROM ops.load_checkpoints WHERE source = ? AND file_key = ?",
        [source, file_key],
    )
    if df.empty:
        return None
    row = df.iloc[0]
    total = row["rows_total"]
    return Checkpoint(
        file_key=str(row["file_key"]),
        file_sha256=str(row["file_sha256"]),
        rows_done=int(row["rows_done"]),
        completed=bool(row["completed"]),
        rows_total=None if pd.isna(total) else int(total),
    )


def _set_checkpoint_tx(tx: Transaction, source: str, cp: Checkpoint, run_id: str | None) -> None:
    tx.execute(
        "DELETE FROM ops.load_checkpoints WHERE source = ? AND file_key = ?",
        [source, cp.file_key],
    )
    tx.insert(
        "ops.load_checkpoints",
        [
            {
                "source": source,
                "file_key": cp.file_key,
                "file_sha256": cp.file_sha256,
                "rows_done": cp.rows_done,
                "rows_total": cp.rows_total,
                "completed": cp.completed,
                "run_id": run_id,
                "updated_at": now_utc(),
            }
        ],
    )


BeforeCommit = Callable[[int, int], None]  # (batch number from 1, rows_done after it)


def load_batch_file(
    wh: Warehouse,
    path: Path,
    *,
    raw_table: str = "raw.costar_properties",
    stage: str = "raw_costar_properties",
    record_id: Callable[[str, Any], str] = lambda e, r: r.property_id,
    batch_size: int = DEFAULT_BATCH_SIZE,
    run_id: str | None = None,
    before_commit: BeforeCommit | None = None,
) -> FileLoad:
    """Loads one CoStar batch file from its checkpoint on, ``batch_size`` data rows per
    transaction (rows, dead letters and checkpoint together).

    ``before_commit`` runs inside each transaction just before it commits (tests use it
    to kill the process at the worst moment). A file whose header is wrong is
    dead-lettered and left without a checkpoint, so it loads once the code accepts it.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    key = path.name
    digest = file_sha256(path)
    report = FileLoad(file_key=key)
    cp = read_checkpoint(wh, costar.SOURCE, key)
    if cp is not None and cp.file_sha256 == digest:
        if cp.completed:
            report.was_complete = True
            report.resumed_from = report.rows_total = cp.rows_done
            return report
        report.resumed_from = cp.rows_done
    day = costar.batch_date(path)
    accepted, rejected = parse_csv(
        path,
        lambda obj: costar.CoStarProperty.model_validate(obj),
        list(costar.COLUMNS),
        costar.ENTITY,
        day,
    )
    header_errors = [r for r in rejected if r.line_no == 0]
    if header_errors:
        with transaction(wh) as tx:
            report.dead_letters = dead_letters_tx(tx, costar.SOURCE, stage, header_errors, day)
        return report
    report.rows_total = max(
        [a.line_no for a in accepted] + [r.line_no for r in rejected], default=0
    )
    done = report.resumed_from
    while done < report.rows_total:
        upto = min(done + batch_size, report.rows_total)
        ok = [a for a in accepted if done < a.line_no <= upto]
        bad = [r for r in rejected if done < r.line_no <= upto]
        last = upto == report.rows_total
        with transaction(wh) as tx:
            new, known = append_raw_tx(tx, raw_table, ok, record_id)
            dead = dead_letters_tx(tx, costar.SOURCE, stage, bad, day)
            _set_checkpoint_tx(
                tx,
                costar.SOURCE,
                Checkpoint(key, digest, upto, last, report.rows_total if last else None),
                run_id,
            )
            report.batches += 1
            if before_commit is not None:
                before_commit(report.batches, upto)
        report.loaded += new
        report.already_loaded += known
        report.dead_letters += dead
        report.accepted.extend(ok)
        done = upto
    if report.rows_total == 0:  # an empty file (header only) is complete at once
        with transaction(wh) as tx:
            _set_checkpoint_tx(tx, costar.SOURCE, Checkpoint(key, digest, 0, True, 0), run_id)
    return report
