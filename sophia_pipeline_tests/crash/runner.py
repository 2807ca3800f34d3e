"""``sophia-pipeline`` as a subprocess for the crash and concurrency tests: the CLI's own
code, with the hash embedder in place of the model (the runs under test are about state,
not vectors' quality, and must be quick enough to run a dozen times).

Usage: ``python -m sophia_pipeline_tests.crash.runner run [--start ... --end ...]``.

A SIGKILL sent when a log line appears lands wherever the process got to a few
milliseconds later: between two steps, usually. To kill *inside* a write, these
variables make the process stop there, after printing a ``crash-runner:`` line the test
waits for (each pause only ever ends by the kill):

- ``CRASH_PAUSE_EMBEDDING=1``: in the embedder's first call (texts chunked, none stored);
- ``CRASH_PAUSE_AFTER_UPSERT=1``: after half of the first batch of vectors was written
  to the index, before the rest and before the manifest;
- ``CRASH_PAUSE_IN_TABLE=<schema.table>``: inside the transaction replacing rows of that
  table, after its DELETE, before its INSERT and COMMIT.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from sophia_pipeline.defs import resources
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.resources.vector_store import VectorRecord
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.fakes import HashEmbedder

PAUSE_S = 600.0


def pause(what: str) -> None:
    print(f"crash-runner: paused {what}", file=sys.stderr, flush=True)
    time.sleep(PAUSE_S)


class PausingHashEmbedder(HashEmbedder):
    def embed(self, texts: list[str]) -> np.ndarray:
        if texts and os.environ.get("CRASH_PAUSE_EMBEDDING"):
            pause(f"embedding {len(texts)} texts")
        return super().embed(texts)


def _install() -> None:
    # local_resources() builds the embedder as ``Embedder()`` by this module's name.
    resources.Embedder = PausingHashEmbedder  # type: ignore[misc]

    if os.environ.get("CRASH_PAUSE_AFTER_UPSERT"):
        upsert = LanceDBVectorStore.upsert

        def upsert_then_pause(self: LanceDBVectorStore, records: list[VectorRecord]) -> int:
            written = upsert(self, records[: max(1, len(records) // 2)])
            pause(f"after upserting {written} of {len(records)} vectors")
            return written

        LanceDBVectorStore.upsert = upsert_then_pause  # type: ignore[method-assign]

    table = os.environ.get("CRASH_PAUSE_IN_TABLE")
    if table:
        replace_where = DuckDBWarehouse.replace_where

        def replace_pausing(
            self: DuckDBWarehouse,
            name: str,
            df: Any,
            where: str,
            params: Sequence[Any] = (),
        ) -> int:
            if name != table:
                return replace_where(self, name, df, where, params)
            with self._connect() as con:
                con.execute("BEGIN TRANSACTION")
                con.execute(f"DELETE FROM {name} WHERE {where}", list(params))
                pause(f"inside the transaction replacing {name}")
            raise AssertionError("unreachable: the pause ends with SIGKILL")

        DuckDBWarehouse.replace_where = replace_pausing  # type: ignore[method-assign]


def main() -> int:
    _install()
    from sophia_pipeline.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
