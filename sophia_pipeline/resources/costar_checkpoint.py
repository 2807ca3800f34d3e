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

Rows, dead letters and checkpoint change together inside ``Warehouse.transaction()``,
written explicitly, batch by batch, through ``store.raw`` and ``store.ops``. This is the
one reader that must write while it reads: every other reader returns its records and new
cursor, and the raw asset commits them in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sophia_pipeline.sources import costar
from sophia_pipeline.sources.landing import parse_csv
from sophia_pipeline.store.ops import (
    Checkpoint,
    read_checkpoint,
    record_dead_letters,
    set_checkpoint_tx,
)
from sophia_pipeline.store.raw import append_raw
from sophia_pipeline.store.warehouse import Warehouse

DEFAULT_BATCH_SIZE = 500


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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


BeforeCommit = Callable[[int, int], None]  # (batch number from 1, rows_done after it)


def load_batch_file(
    wh: Warehouse,
    path: Path,
    *,
    raw_table: str = "raw.costar_properties",
    stage: str = "raw/costar_properties",
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
        with wh.transaction() as tx:
            report.dead_letters = record_dead_letters(tx, costar.SOURCE, stage, header_errors, day)
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
        with wh.transaction() as tx:
            new, known = append_raw(tx, raw_table, ok, record_id)
            dead = record_dead_letters(tx, costar.SOURCE, stage, bad, day)
            set_checkpoint_tx(
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
        done = upto
    if report.rows_total == 0:  # an empty file (header only) is complete at once
        with wh.transaction() as tx:
            set_checkpoint_tx(tx, costar.SOURCE, Checkpoint(key, digest, 0, True, 0), run_id)
    return report
