"""OPS: what the pipeline records about itself. Dead letters and the counts their checks
saw, source cursors and CoStar file checkpoints, webhook cursors, embedding runs, and
the manifest of what the vector index holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from sophia_pipeline.sources.landing import Rejected

from .common import Reader, Transaction, in_batches, now_utc, placeholders, within

if TYPE_CHECKING:  # a type only: the resource's module imports Dagster, which `status`
    # (it reads the two functions below) has no use for
    from .warehouse import Warehouse

# --- dead letters --------------------------------------------------------------------------


def record_dead_letters(
    target: Warehouse | Transaction,
    source: str,
    stage: str,
    rejected: Sequence[Rejected],
    partition_date: date | None,
) -> int:
    """Upserts rejected records by a stable id: a re-run bumps ``attempts`` and
    ``last_seen`` instead of adding a row. Runs in ``target``'s transaction, or its own."""
    unique = {r.dead_letter_id: r for r in rejected}
    if not unique:
        return 0
    with within(target) as tx:
        prior: dict[str, tuple[int, Any]] = {}
        for batch in in_batches(sorted(unique)):
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


def dead_letters_to_replay(
    wh: Warehouse, sources: list[str] | None, ids: list[str] | None, limit: int
) -> pd.DataFrame:
    """Dead letters of ``sources`` (or with ``ids``; all when both are empty), oldest
    first, at most ``limit``."""
    where, params = ["1 = 1"], []
    if sources:
        where.append(f"source IN ({placeholders(sources)})")
        params.extend(sources)
    if ids:
        where.append(f"dead_letter_id IN ({placeholders(ids)})")
        params.extend(ids)
    return wh.query(
        f"SELECT * FROM ops.dead_letters WHERE {' AND '.join(where)} "
        "ORDER BY first_seen, dead_letter_id LIMIT ?",
        [*params, int(limit)],
    )


def delete_dead_letters(tx: Transaction, ids: Sequence[str]) -> None:
    """Removes resolved letters (inside the transaction that stored their records)."""
    for batch in in_batches(list(ids)):
        tx.execute(
            f"DELETE FROM ops.dead_letters WHERE dead_letter_id IN ({placeholders(batch)})", batch
        )


def _opt_date(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def keep_failing(tx: Transaction, row: dict[str, Any], error: str) -> None:
    """A dead letter ``row`` stays, with today's reason, one more attempt and a new
    last_seen."""
    tx.execute("DELETE FROM ops.dead_letters WHERE dead_letter_id = ?", [row["dead_letter_id"]])
    line_no = row.get("line_no")
    tx.insert(
        "ops.dead_letters",
        [
            {
                "dead_letter_id": str(row["dead_letter_id"]),
                "source": str(row["source"]),
                "stage": str(row["stage"]),
                "source_file": row.get("source_file"),
                "line_no": None if line_no is None or pd.isna(line_no) else int(line_no),
                "partition_date": _opt_date(row.get("partition_date")),
                "payload": row.get("payload"),
                "error": error,
                "attempts": int(row["attempts"]) + 1,
                "first_seen": pd.Timestamp(row["first_seen"]).to_pydatetime(),
                "last_seen": now_utc(),
            }
        ],
    )


def dead_letter_counts(wh: Warehouse, source: str, start: date, end: date) -> dict[date, int]:
    df = wh.query(
        "SELECT partition_date, COUNT(*) AS n FROM ops.dead_letters "
        "WHERE source = ? AND partition_date >= ? AND partition_date < ? "
        "GROUP BY partition_date",
        [source, start, end],
    )
    return {
        pd.Timestamp(d).date(): int(n) for d, n in zip(df["partition_date"], df["n"], strict=True)
    }


def watermarks(wh: Warehouse, source: str, start: date, end: date) -> dict[date, int]:
    """The dead-letter count per day that the last check of ``source`` saw."""
    df = wh.query(
        "SELECT partition_date, dead_letters FROM ops.dead_letter_watermarks "
        "WHERE source = ? AND partition_date >= ? AND partition_date < ?",
        [source, start, end],
    )
    return {
        pd.Timestamp(d).date(): int(n)
        for d, n in zip(df["partition_date"], df["dead_letters"], strict=True)
    }


def save_watermarks(
    wh: Warehouse, source: str, start: date, end: date, counts: dict[date, int]
) -> None:
    checked_at = now_utc()
    df = pd.DataFrame(
        [
            {"source": source, "partition_date": d, "dead_letters": n, "checked_at": checked_at}
            for d, n in sorted(counts.items())
        ],
        columns=["source", "partition_date", "dead_letters", "checked_at"],
    )
    wh.replace_window(
        "ops.dead_letter_watermarks", df, "partition_date", start, end, "source = ?", [source]
    )


# --- source cursors and file checkpoints -------------------------------------------------------


def set_cursor_tx(
    tx: Transaction, source: str, name: str, value: str, run_id: str | None = None
) -> None:
    """Moves a source's named cursor, inside the transaction that stores its records."""
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


def read_cursors(wh: Warehouse, source: str) -> dict[str, str]:
    """Every stored cursor of ``source``, by name (what its reader fetches from)."""
    df = wh.query(
        "SELECT cursor_name, cursor_value FROM ops.source_cursors WHERE source = ?", [source]
    )
    return {str(n): str(v) for n, v in zip(df["cursor_name"], df["cursor_value"], strict=True)}


def read_cursor(wh: Warehouse, source: str, name: str) -> str | None:
    df = wh.query(
        "SELECT cursor_value FROM ops.source_cursors WHERE source = ? AND cursor_name = ?",
        [source, name],
    )
    return None if df.empty else str(df["cursor_value"].iloc[0])


@dataclass(frozen=True)
class Checkpoint:
    """How far the load of one batch file got (a row of OPS.LOAD_CHECKPOINTS)."""

    file_key: str
    file_sha256: str
    rows_done: int
    completed: bool
    rows_total: int | None = None


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


def set_checkpoint_tx(tx: Transaction, source: str, cp: Checkpoint, run_id: str | None) -> None:
    """Moves a file's checkpoint, inside the transaction that stores the rows it covers."""
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


# --- webhook cursors -----------------------------------------------------------------------


def commit_webhook_cursor(
    target: Warehouse | Transaction, source: str, cursor: str, run_id: str
) -> None:
    """Records that the source's landed events up to ``cursor`` are in the raw layer.
    Runs in ``target``'s transaction (the one that stores those events), or its own."""
    with within(target) as tx:
        tx.execute("DELETE FROM ops.webhook_cursors WHERE source = ?", [source])
        tx.insert(
            "ops.webhook_cursors",
            [{"source": source, "cursor": cursor, "run_id": run_id, "committed_at": now_utc()}],
        )


def webhook_cursors(wh: Reader) -> dict[str, str]:
    df = wh.query("SELECT source, cursor FROM ops.webhook_cursors")
    return dict(zip(df["source"], df["cursor"], strict=True))


# --- embedding runs ------------------------------------------------------------------------


def record_embed_run(
    wh: Warehouse,
    run_id: str,
    asset: str,
    partition_range: str,
    total: int,
    embedded: int,
    hits: int,
    seconds: float,
) -> None:
    df = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "asset": asset,
                "partition_range": partition_range,
                "texts_total": total,
                "texts_embedded": embedded,
                "cache_hits": hits,
                "seconds": seconds,
                "recorded_at": now_utc(),
            }
        ]
    )
    wh.replace_where("ops.embed_runs", df, "run_id = ? AND asset = ?", [run_id, asset])


def last_embed_run(wh: Reader) -> dict[str, Any] | None:
    """Totals of the most recent run that embedded anything (over all its assets)."""
    last = wh.query(
        """
        SELECT run_id, SUM(texts_total) AS texts_total, SUM(texts_embedded) AS texts_embedded,
               SUM(cache_hits) AS cache_hits, MAX(recorded_at) AS finished
        FROM ops.embed_runs GROUP BY run_id ORDER BY finished DESC LIMIT 1
        """
    )
    if not len(last):
        return None
    row = last.iloc[0]
    return {
        "run_id": row["run_id"],
        "texts_total": int(row["texts_total"]),
        "texts_embedded": int(row["texts_embedded"]),
        "cache_hits": int(row["cache_hits"]),
    }


# --- vector manifest -----------------------------------------------------------------------


def read_manifest(wh: Warehouse) -> pd.DataFrame:
    return wh.query("SELECT * FROM ops.vector_manifest")


def manifest_chunk_ids(wh: Warehouse) -> set[str]:
    return set(wh.query("SELECT chunk_id FROM ops.vector_manifest")["chunk_id"])


def write_manifest(wh: Warehouse, chunks: pd.DataFrame, model_id: str) -> int:
    """The manifest becomes exactly what the index now holds."""
    df = pd.DataFrame(
        {
            "chunk_id": chunks["chunk_id"],
            "doc_id": chunks["doc_id"],
            "source": chunks["source"],
            "content_hash": chunks["content_hash"],
            "model_id": model_id,
            "chunker_version": chunks["chunker_version"],
            "partition_date": chunks["partition_date"],
            "indexed_at": now_utc(),
            "metadata_hash": chunks["metadata_hash"],
        }
    )
    return wh.replace_where("ops.vector_manifest", df, "1 = 1")


def vectors_per_source(wh: Warehouse) -> pd.DataFrame:
    """Per source: vectors the manifest says the index holds, and when it was last synced."""
    return wh.query(
        "SELECT source, COUNT(*) AS vectors, MAX(indexed_at) AS last_indexed_at "
        "FROM ops.vector_manifest GROUP BY source ORDER BY source"
    )


# --- dead letters, for people ----------------------------------------------------------------


def list_dead_letters(wh: Warehouse, source: str | None, limit: int) -> pd.DataFrame:
    """The most recently seen dead letters (of ``source`` when given), without payloads."""
    where, params = ("source = ?", [source]) if source is not None else ("1 = 1", [])
    return wh.query(
        "SELECT dead_letter_id, source, stage, source_file, line_no, partition_date, error, "
        f"attempts, first_seen, last_seen FROM ops.dead_letters WHERE {where} "
        "ORDER BY last_seen DESC, dead_letter_id LIMIT ?",
        [*params, int(limit)],
    )


def dead_letter(wh: Warehouse, dead_letter_id: str) -> pd.DataFrame:
    """One dead letter with its payload (no row for an unknown id)."""
    return wh.query("SELECT * FROM ops.dead_letters WHERE dead_letter_id = ?", [dead_letter_id])
