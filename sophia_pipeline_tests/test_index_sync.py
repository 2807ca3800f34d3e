"""The vector index stays exactly in step with the sources: delete 10% of the sample's
documents and edit another 10%, re-materialize, and the index holds exactly the current
chunks while only the edited documents' changed chunks are embedded again."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg

from sophia_pipeline.definitions import defs
from sophia_pipeline.resources.lance_row_count import RowCountCache
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.sample.generator import generate
from sophia_pipeline.settings import load_settings
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.fakes import with_hash_embedder

REF = date(2026, 11, 20)
CHANGE_DAY = date(2026, 11, 21)  # the day the deletions and edits land
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


def materialize(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    d = defs()
    return dg.materialize(
        list(d.assets or []),
        # The index sync, not the model, is under test: hash vectors keep it fast.
        resources=with_hash_embedder(d.resources or {}),
        instance=instance,
        selection=SELECTION,
        tags={
            "dagster/asset_partition_range_start": "2026-08-01",
            "dagster/asset_partition_range_end": CHANGE_DAY.isoformat(),
        },
    )


def embedded(result: dg.ExecuteInProcessResult) -> int:
    total = 0
    for key in ("embeddings/gong", "embeddings/linear"):
        node = dg.AssetKey.from_user_string(key).to_python_identifier()
        mat = result.asset_materializations_for_node(node)[0]  # window_* is per run
        total += int(mat.metadata["window_texts_embedded"].value)
    return total


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_deletes_and_edits_keep_the_index_exact(data_dir: Path) -> None:
    settings = load_settings()
    landing = settings.landing_dir
    generate(landing, scale=1, seed=7, reference_date=REF)
    wh = DuckDBWarehouse(path=str(settings.duckdb_path))
    vs = LanceDBVectorStore(uri=str(settings.lancedb_dir))

    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(instance).success
        # The sync counts after its writes, which leaves the count remembered: the next
        # ``status`` reads it without importing LanceDB.
        remembered = RowCountCache(settings.lancedb_dir, vs.table_name).get()
        assert remembered is not None and remembered == vs.count() > 0
        docs = wh.query("SELECT doc_id, source FROM staging.documents WHERE NOT deleted")
        n_docs = len(docs)
        k = n_docs // 10
        cache_before = set(
            wh.query("SELECT content_hash FROM embeddings.embedding_cache")["content_hash"]
        )
        assert vs.ids() == set(wh.query("SELECT chunk_id FROM staging.chunks")["chunk_id"])

        # Delete: Linear reports archived issues; land k of them archived, a day later.
        issues = sorted(
            (
                i
                for p in sorted((landing / "linear" / "issues").glob("*.jsonl"))
                for i in lines(p)
                if i["archivedAt"] is None
            ),
            key=lambda i: i["id"],
        )[:k]
        stamp = f"{CHANGE_DAY.isoformat()}T09:00:00.000Z"
        for i in issues:
            i.update(archivedAt=stamp, updatedAt=stamp)
        (landing / "linear" / "issues" / f"{CHANGE_DAY.isoformat()}.jsonl").write_text(
            "".join(json.dumps(i, sort_keys=True) + "\n" for i in issues)
        )
        deleted_ids = {f"linear:issue:{i['id']}" for i in issues}

        # Edit: k Gong calls get a changed turn (re-landed in their own day's file).
        edited_ids: set[str] = set()
        for path in sorted((landing / "gong" / "calls").glob("*.jsonl")):
            calls = lines(path)
            for c in calls:
                if len(edited_ids) < k:
                    c["turns"][1]["text"] = f"Edited: {c['turns'][1]['text']} We revisited pricing."
                    edited_ids.add(f"gong:call:{c['call_id']}")
            path.write_text("".join(json.dumps(c, sort_keys=True) + "\n" for c in calls))
        assert len(edited_ids) == k and len(deleted_ids) == k

        second = materialize(instance)
        assert second.success

        current = wh.query("SELECT chunk_id, doc_id, content_hash FROM staging.chunks")
        index_ids = vs.ids()
        assert index_ids == set(current["chunk_id"])  # no stale id
        assert vs.count() == len(index_ids)  # no duplicate
        assert not {cid.split("#")[0] for cid in index_ids} & deleted_ids
        manifest = set(wh.query("SELECT chunk_id FROM ops.vector_manifest")["chunk_id"])
        assert manifest == index_ids

        # Only edited documents' new texts were embedded, each once.
        new_hashes = set(current["content_hash"]) - cache_before
        from_edited = set(current[current["doc_id"].isin(edited_ids)]["content_hash"])
        assert new_hashes and new_hashes <= from_edited
        assert embedded(second) == len(new_hashes)
        print(
            f"\n{n_docs} documents, {k} deleted, {k} edited, {embedded(second)} texts re-embedded"
        )


def test_new_chunker_version_rewrites_exactly_that_strategys_documents(
    data_dir: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from sophia_pipeline.processing.chunking import base

    settings = load_settings()
    generate(settings.landing_dir, scale=1, seed=7, reference_date=REF)
    wh = DuckDBWarehouse(path=str(settings.duckdb_path))
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(instance).success
        linear_chunks = wh.count("staging.chunks") - int(
            wh.query("SELECT COUNT(*) AS n FROM staging.chunks WHERE source = 'gong'")["n"].iloc[0]
        )
        # Linear bodies use the document strategy; Gong calls the conversation one.
        conversation = base.CHUNKER_VERSIONS["conversation"]
        monkeypatch.setitem(base.CHUNKER_VERSIONS, "document", "bumped")
        second = materialize(instance)
        assert second.success
        index = second.asset_materializations_for_node("index__vectors")[0].metadata
        assert int(index["upserted"].value) == linear_chunks > 0
        assert embedded(second) == 0  # same texts: the content-hash cache answers
        versions = wh.query("SELECT source, chunker_version FROM ops.vector_manifest")
        assert set(versions[versions["source"] == "linear"]["chunker_version"]) == {"bumped"}
        assert set(versions[versions["source"] == "gong"]["chunker_version"]) == {conversation}
