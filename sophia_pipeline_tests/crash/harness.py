"""Running ``sophia-pipeline run`` in a subprocess, killing it at a point found in its own
output, and reading a data directory's end state for comparison."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore

REPO = Path(__file__).resolve().parents[2]

# Ops tables that record the runs themselves, not the data: they legitimately differ
# between a clean run and a killed-then-repeated one.
#  - ops.embed_runs: one row per embeddings step that finished (a re-run after a crash
#    logs its own steps again, with their own cache hits).
BOOKKEEPING_TABLES = frozenset({"ops.embed_runs"})


def runner_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DAGSTER_HOME", None)  # the data dir's own instance
    env.update(
        SOPHIA_DATA_DIR=str(data_dir),
        SOPHIA_PROFILE="local",
        PYTHONPATH=str(REPO),
        HF_HUB_OFFLINE="1",
        SOPHIA_DATA_START="2026-08-26",  # the sample's first day, for every run alike
        # No Redis needed for state: the cache falls back in-process (one warning).
        REDIS_URL=env.get("REDIS_URL") or "redis://127.0.0.1:1/0",
    )
    env.update(extra)
    return env


@dataclass
class Run:
    """A ``sophia-pipeline run`` subprocess in its own process group; its stderr lines
    are collected by a thread (so the pipe never fills)."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, data_dir: Path, args: list[str], **env: str) -> Run:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sophia_pipeline_tests.crash.runner", "run", *args],
            cwd=REPO,
            env=runner_env(data_dir, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: the kill takes every child
        )
        run = cls(proc)
        run._reader = threading.Thread(target=run._read, daemon=True)
        run._reader.start()
        return run

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout_s: float = 600) -> str:
        """The first output line matching ``pattern``; fails if the process ends first."""
        rx = re.compile(pattern)
        seen = 0
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            while seen < len(self.lines):
                line = self.lines[seen]
                seen += 1
                if rx.search(line):
                    return line
            if self.proc.poll() is not None and self._reader is not None:
                self._reader.join(5)
                if seen == len(self.lines):
                    raise AssertionError(
                        f"run ended (rc {self.proc.returncode}) before {pattern!r}:\n"
                        + self.output()[-4000:]
                    )
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} within {timeout_s} s:\n" + self.output()[-4000:])

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        if self._reader is not None:
            self._reader.join(10)

    def finish(self, timeout_s: float = 900) -> int:
        rc = self.proc.wait(timeout_s)
        if self._reader is not None:
            self._reader.join(10)
        return rc

    def output(self) -> str:
        return "".join(self.lines)


def copy_landing(template: Path, data_dir: Path) -> None:
    shutil.copytree(template / "landing", data_dir / "landing")


@dataclass(frozen=True)
class EndState:
    table_rows: dict[str, int]
    documents: tuple[tuple[str, bool], ...]  # (doc_id, deleted), sorted
    chunks: tuple[tuple[str, str], ...]  # (chunk_id, content_hash), sorted
    vectors: tuple[tuple[str, str], ...]  # (id, sha256 of the vector), sorted
    vector_rows: int
    kpis: tuple[tuple[Any, ...], ...]  # every KPI value of every day, sorted

    def duplicates(self) -> dict[str, int]:
        return {
            "documents": len(self.documents) - len({d for d, _ in self.documents}),
            "chunks": len(self.chunks) - len({c for c, _ in self.chunks}),
            "vectors": self.vector_rows - len({v for v, _ in self.vectors}),
        }

    def comparable_rows(self) -> dict[str, int]:
        return {t: n for t, n in self.table_rows.items() if t not in BOOKKEEPING_TABLES}


def end_state(data_dir: Path) -> EndState:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        tables = [
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY 1, 2"
            ).fetchall()
        ]
        rows = {t: int(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]
        documents = con.execute(
            "SELECT doc_id, deleted FROM staging.documents ORDER BY 1, 2"
        ).fetchall()
        chunks = con.execute(
            "SELECT chunk_id, content_hash FROM staging.chunks ORDER BY 1, 2"
        ).fetchall()
        kpi_columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'executive_intelligence' AND table_name = 'kpi_rollups' ORDER BY ordinal_position"
            ).fetchall()
            if c != "computed_at"  # when, not what
        ]
        kpis = con.execute(
            f"SELECT {', '.join(kpi_columns)} FROM executive_intelligence.kpi_rollups ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    table = LanceDBVectorStore(uri=str(data_dir / "lancedb"))._table().to_arrow()
    vectors = sorted(
        (str(i), hashlib.sha256(np.asarray(v, dtype=np.float32).tobytes()).hexdigest())
        for i, v in zip(
            table.column("id").to_pylist(), table.column("vector").to_pylist(), strict=True
        )
    )
    return EndState(
        table_rows=rows,
        documents=tuple((str(d), bool(x)) for d, x in documents),
        chunks=tuple((str(c), str(h)) for c, h in chunks),
        vectors=tuple(vectors),
        vector_rows=table.num_rows,
        kpis=tuple(tuple(r) for r in kpis),
    )
