"""Index rows carry provenance, and an index built before they did migrates by a normal
run: every row rewritten with its fields, its vector taken from the embedding cache,
nothing embedded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import lancedb
import numpy as np
import pytest

from sophia_pipeline.definitions import defs
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.sample.generator import generate
from sophia_pipeline.settings import load_settings
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.fakes import HashEmbedder

REF = date(2026, 11, 20)
SELECTION = [
    "raw/gong_calls",
    "documents/gong",
    "chunks/gong",
    "embeddings/gong",
    "raw/linear_issues",
    "documents/linear",
    "chunks/linear",
    "embeddings/linear",
    "index/vectors",
]
OLD_COLUMNS = ["id", "vector", "text", "doc_id", "source", "content_hash", "partition_date"]


class NoEmbedding(HashEmbedder):
    """The hash embedder's model id (so the cache it filled answers), but embedding
    anything is a failure: the migration must not embed."""

    def embed(self, texts: list[str]) -> np.ndarray:
        if texts:
            raise AssertionError(f"{len(texts)} texts embedded during the migration")
        return super().embed(texts)


def materialize(
    instance: dg.DagsterInstance, selection: list[str], embedder: HashEmbedder
) -> dg.ExecuteInProcessResult:
    d = defs()
    return dg.materialize(
        list(d.assets or []),
        resources={**(d.resources or {}), "embedder": embedder},
        instance=instance,
        selection=selection,
        tags={
            "dagster/asset_partition_range_start": "2026-08-01",
            "dagster/asset_partition_range_end": REF.isoformat(),
        },
    )


def downgrade_to_the_old_shape(lance_dir: Path, wh: DuckDBWarehouse) -> int:
    """The index and manifest as the version before provenance left them: seven columns
    in LanceDB, no metadata hash in the manifest."""
    db = lancedb.connect(str(lance_dir))
    old = db.open_table("chunks").to_arrow().select(OLD_COLUMNS)
    db.drop_table("chunks")
    db.create_table("chunks", data=old)
    wh.execute("ALTER TABLE ops.vector_manifest DROP COLUMN metadata_hash")
    return old.num_rows


@pytest.mark.slow  # two materializations of two sources (~40 s)
def test_an_old_index_gains_provenance_without_embedding(data_dir: Path) -> None:
    settings = load_settings()
    generate(settings.landing_dir, scale=1, seed=7, reference_date=REF)
    wh = DuckDBWarehouse(path=str(settings.duckdb_path))
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(instance, SELECTION, HashEmbedder()).success
        rows = downgrade_to_the_old_shape(settings.lancedb_dir, wh)
        cached = wh.count("embeddings.embedding_cache")

        result = materialize(instance, ["index/vectors"], NoEmbedding())
        assert result.success
        meta = result.asset_materializations_for_node("index__vectors")[0].metadata
        assert int(meta["upserted"].value) == rows > 0  # every row rewritten once
        assert wh.count("embeddings.embedding_cache") == cached  # nothing new embedded

        table = lancedb.connect(str(settings.lancedb_dir)).open_table("chunks").to_arrow()
        by_id = {r["id"]: r for r in table.to_pylist()}
        gong = wh.query(
            "SELECT c.chunk_id, c.ordinal, c.start_char, c.end_char, c.label, d.title, "
            "d.account_id, d.deal_id, d.author, d.occurred_at FROM staging.chunks c "
            "JOIN staging.documents d USING (doc_id) WHERE c.source = 'gong'"
        )
        for r in gong.itertuples():
            row = by_id[r.chunk_id]
            assert row["entity_type"] == "call" and row["doc_kind"] == "conversation"
            assert (row["title"], row["account_id"], row["deal_id"], row["author"]) == (
                r.title,
                r.account_id,
                r.deal_id,
                r.author,
            )
            assert row["speaker"] == r.label
            assert (row["ordinal"], row["char_start"], row["char_end"]) == (
                r.ordinal,
                r.start_char,
                r.end_char,
            )
            assert row["occurred_at"] == r.occurred_at.to_pydatetime()
        linear = [r for r in by_id.values() if r["source"] == "linear"]
        assert linear and all(str(r["url"]).startswith("https://") for r in linear)
        assert all(r["url"] is None for r in by_id.values() if r["source"] == "gong")

        # And it is done once: the next run has nothing to write.
        again = materialize(instance, ["index/vectors"], NoEmbedding())
        meta = again.asset_materializations_for_node("index__vectors")[0].metadata
        assert int(meta["upserted"].value) == 0

        # The sync built the full-text index: a word of a chunk finds it by keyword.
        store = LanceDBVectorStore(uri=str(settings.lancedb_dir))
        target = next(iter(by_id.values()))
        word = max(target["text"].split(), key=len).strip(".,:;!?\"'()")
        assert any(h.id == target["id"] for h in store.keyword(word, top_k=50))
