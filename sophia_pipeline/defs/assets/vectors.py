"""The vector index: every current chunk's vector, upserted by stable chunk id."""

import dagster as dg

from sophia_pipeline.defs.keys import INDEX, INDEX_KEY, embeddings_key
from sophia_pipeline.defs.kinds import vector_kind, warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, ON_INPUT_CHANGE, OWNERS, SINGLE_RUN
from sophia_pipeline.processing.vectors import metadata_hash, plan_index_sync, row_metadata
from sophia_pipeline.reliability.breaker import breaker_for
from sophia_pipeline.reliability.writer_lock import writer_lock
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.resources.vector_store import RowMetadata, VectorRecord, VectorStore
from sophia_pipeline.resources.vector_store_guard import NAME as GUARD_NAME
from sophia_pipeline.resources.vector_store_guard import GuardedVectorStore
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store import embeddings, ops, staging
from sophia_pipeline.store.warehouse import Warehouse


def _keys(df) -> dict[str, tuple[str | None, ...]]:  # type: ignore[no-untyped-def]
    # A manifest from before rows carried provenance has no metadata hash: None, so every
    # row differs and is rewritten once.
    hashes = df["metadata_hash"] if "metadata_hash" in df else [None] * len(df)
    return {
        cid: (h, m, v, mh if isinstance(mh, str) else None)
        for cid, h, m, v, mh in zip(
            df["chunk_id"],
            df["content_hash"],
            df["model_id"],
            df["chunker_version"],
            hashes,
            strict=True,
        )
    }


def _with_metadata(chunks, documents):  # type: ignore[no-untyped-def]
    """``chunks`` plus each row's provenance (``meta``, a dict) and its ``metadata_hash``."""
    docs = {str(r["doc_id"]): r for r in documents.to_dict("records")}
    meta = [row_metadata(c, docs.get(str(c["doc_id"]))) for c in chunks.to_dict("records")]
    return chunks.assign(meta=meta, metadata_hash=[metadata_hash(m) for m in meta])


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=INDEX_KEY,
        deps=[embeddings_key(s) for s in SPECS],
        group_name=INDEX,
        kinds={vector_kind(settings), warehouse_kind(settings)},
        owners=OWNERS,
        retry_policy=IO_RETRY,
        # Not partitioned: every sync compares the whole manifest with all chunks, so a
        # partition would be a lie. single_run lets a CLI range backfill of the stages
        # above include it, once, at the end (as `sophia-pipeline run` does).
        backfill_policy=SINGLE_RUN,
        automation_condition=ON_INPUT_CHANGE,
        check_specs=[dg.AssetCheckSpec("index_matches_manifest", asset=INDEX_KEY)],
    )
    def vector_index(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        vector_store: VectorStore,
        embedder: Embedder,
    ):  # type: ignore[no-untyped-def]
        """Every current chunk of every source, in the vector store under its stable id
        (``doc_id#ordinal``), with its provenance (document kind, title, account, deal,
        speaker, author, dates, link, span). Only chunks whose content, model, chunker
        version or provenance changed since the manifest are written (a provenance-only
        change rewrites the row with its cached vector: nothing is embedded here); chunks
        that no longer exist (document deleted, re-chunked shorter) are deleted by id after
        the writes, and the full-text index of the keyword search is rebuilt. The sync compares the
        whole manifest with all chunks, so it stays exact whichever partitions ran, and a
        document that moved to a newer partition keeps its vectors.
        OPS.VECTOR_MANIFEST records what the index holds. Not partitioned; automation
        runs it whenever a partition of any embeddings asset is updated."""
        # Read manifest, write index, write manifest: one writer at a time, or two runs
        # both read the old manifest and both insert the same ids. The lock is the data
        # directory's (re-entered when `sophia-pipeline run` already holds it).
        with writer_lock(
            settings.data_dir,
            f"vector index sync (run {context.run_id})",
            settings.lock_timeout_s,
            on_wait=context.log.info,
        ):
            yield from _sync(context, warehouse, vector_store, embedder, settings)

    return [vector_index]


def _redis_url(settings: Settings) -> str | None:
    """Where breakers keep their state (shared by every worker), if Redis is configured."""
    url = settings.redis_url
    return url.get_secret_value() if url is not None else None


def _sync(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    vector_store: VectorStore,
    embedder: Embedder,
    settings: Settings,
):  # type: ignore[no-untyped-def]
    """The index sync proper (see ``vector_index``), under the writer lock. Every vector
    store call is retried and counted by the store's circuit breaker."""
    vector_store = GuardedVectorStore(  # type: ignore[assignment]
        vector_store, breaker_for(GUARD_NAME, _redis_url(settings), fail_max=3, reset_timeout_s=60)
    )
    model_id = embedder.model_id
    chunks = _with_metadata(
        staging.read_all_chunk_keys(warehouse).assign(model_id=model_id),
        staging.read_document_metadata(warehouse),
    )
    manifest = ops.read_manifest(warehouse)
    index_ids = vector_store.ids()
    if vector_store.count() != len(index_ids):
        # Some id has two rows (left by concurrent writers before the lock existed): the
        # manifest cannot say which rows are right, so the index is rebuilt from chunks.
        context.log.warning(
            f"vector index holds {vector_store.count()} rows for {len(index_ids)} ids: "
            "rewriting every vector"
        )
        vector_store.delete(sorted(index_ids))
        manifest = manifest.iloc[0:0]
    plan = plan_index_sync(_keys(chunks), _keys(manifest), index_ids)
    context.log.info(
        f"index sync: {len(plan.upsert)} to write, {len(plan.delete)} to delete, "
        f"{plan.unchanged} unchanged"
    )
    todo = staging.read_chunks_by_id(warehouse, plan.upsert)
    hashes = list(todo["content_hash"]) if len(todo) else []
    vectors = embeddings.cached_vectors(warehouse, model_id, hashes, vector_store.dim)
    missing = set(hashes) - set(vectors)
    if missing:
        raise RuntimeError(
            f"{len(missing)} chunks have no cached embedding: materialize the "
            "embeddings/<source> assets for their partitions first"
        )
    meta = dict(zip(chunks["chunk_id"], chunks["meta"], strict=True))
    records = [
        VectorRecord(
            id=str(r.chunk_id),
            vector=vectors[str(r.content_hash)],
            text=str(r.text),
            doc_id=str(r.doc_id),
            source=str(r.source),
            content_hash=str(r.content_hash),
            partition_date=str(r.partition_date)[:10],
            meta=RowMetadata(**meta[str(r.chunk_id)]),
        )
        for r in todo.itertuples()
    ]
    for i in range(0, len(records), 1000):
        vector_store.upsert(records[i : i + 1000])
        context.log.info(f"upserted {min(i + 1000, len(records))}/{len(records)} vectors")
    vector_store.delete(plan.delete)
    # The keyword leg's index is built here, after the writes, never at query time.
    vector_store.ensure_keyword_index()
    ops.write_manifest(warehouse, chunks, model_id)
    total = vector_store.count()
    yield dg.MaterializeResult(
        metadata={
            "upserted": len(records),
            "deleted": len(plan.delete),
            "unchanged": plan.unchanged,
            "chunks_total": len(chunks),
            "vectors_total": total,
        }
    )
    manifest_ids = ops.manifest_chunk_ids(warehouse)
    index_ids = vector_store.ids()
    # Rows, not only ids: two writers merging the same ids leave one id twice, which
    # an id-set comparison cannot see.
    rows = vector_store.count()
    yield dg.AssetCheckResult(
        check_name="index_matches_manifest",
        passed=manifest_ids == index_ids and rows == len(index_ids),
        metadata={
            "only_in_manifest": len(manifest_ids - index_ids),
            "only_in_index": len(index_ids - manifest_ids),
            "duplicate_rows": rows - len(index_ids),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
