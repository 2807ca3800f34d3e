"""Per-source chunks and embeddings: the same two stages for every source."""

from collections import Counter
from datetime import date

import dagster as dg
import numpy as np
import pandas as pd

from sophia_pipeline.defs.keys import CHUNKS, EMBEDDINGS, chunks_key, documents_key, embeddings_key
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import EMBED_STEP_OP_TAGS, daily_io_asset
from sophia_pipeline.processing.documents_to_chunks import chunk_rows
from sophia_pipeline.processing.embedding import embed_in_slices, timed
from sophia_pipeline.processing.frames import as_day, records
from sophia_pipeline.processing.tokens import default_counter
from sophia_pipeline.processing.vectors import missing_hashes
from sophia_pipeline.resources.embedder import Embedder
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store import embeddings, ops, staging
from sophia_pipeline.store.common import rows_by_day
from sophia_pipeline.store.warehouse import Warehouse

from .windows import (
    count_by_day,
    report_per_partition,
    window_label,
    window_metadata,
    window_of,
)


def chunk_and_embed_assets(source: str, settings: Settings) -> list[dg.AssetsDefinition]:
    counter = default_counter
    wh_kind = warehouse_kind(settings)

    @dg.asset(
        **daily_io_asset(
            settings,
            key=chunks_key(source),
            deps=[documents_key(source)],
            group_name=CHUNKS,
            kinds={"python", wh_kind},
            tags={"source": source},
            automation_condition=dg.AutomationCondition.eager(),
            check_specs=[
                dg.AssetCheckSpec("chunks_within_token_budget", asset=chunks_key(source)),
                dg.AssetCheckSpec("every_document_chunked", asset=chunks_key(source)),
            ],
            description=(
                f"{source} documents cut into token-bounded chunks (STAGING.CHUNKS): the "
                "strategy follows the document kind; no chunk exceeds the embedding model's "
                "256 word pieces (measured with its own tokenizer, label included); chunk id "
                "is document id + ordinal; the partition's window is replaced."
            ),
        )
    )
    def chunks_asset(context: dg.AssetExecutionContext, warehouse: Warehouse):  # type: ignore[no-untyped-def]
        start, end = window_of(context)
        docs = staging.read_documents(warehouse, source, start, end)
        c = counter()
        rows = records(docs)
        chunks = chunk_rows(rows, c)
        written = staging.write_chunks(warehouse, source, chunks, start, end)
        tokens = np.array([p.chunk.tokens for p in chunks] or [0])
        live = {r["doc_id"] for r in rows if not r["deleted"]}
        chunked = {p.chunk.doc_id for p in chunks}
        tokens_max_by_day: dict[date, int] = {}
        for p in chunks:
            day = as_day(p.day)
            tokens_max_by_day[day] = max(tokens_max_by_day.get(day, 0), p.chunk.tokens)
        report_per_partition(
            context,
            {
                "documents": count_by_day(r["partition_date"] for r in rows),
                "chunks": rows_by_day(warehouse, "staging.chunks", start, end, source),
                "tokens_max": tokens_max_by_day,
            },
        )
        yield dg.MaterializeResult(
            metadata={
                **window_metadata(
                    context,
                    documents=len(rows),
                    chunks=written,
                    tokens_p50=int(np.percentile(tokens, 50)),
                    tokens_p95=int(np.percentile(tokens, 95)),
                    tokens_max=int(tokens.max()),
                ),
                "token_budget": c.budget,
            }
        )
        yield dg.AssetCheckResult(
            check_name="chunks_within_token_budget",
            passed=bool(tokens.max() <= c.budget),
            metadata={"tokens_max": int(tokens.max()), "budget": c.budget},
        )
        yield dg.AssetCheckResult(
            check_name="every_document_chunked",
            passed=live <= chunked,
            metadata={"documents_without_chunks": len(live - chunked)},
        )

    @dg.asset(
        **daily_io_asset(
            settings,
            key=embeddings_key(source),
            deps=[chunks_asset],
            group_name=EMBEDDINGS,
            kinds={"python", "pytorch", wh_kind},
            tags={"source": source},
            op_tags=EMBED_STEP_OP_TAGS,
            automation_condition=dg.AutomationCondition.eager(),
            description=(
                f"Embeddings of {source} chunks with all-MiniLM-L6-v2, kept in the content-hash "
                "cache EMBEDDINGS.EMBEDDING_CACHE: a text already embedded by this model is "
                "never embedded again. Reports texts embedded, cache hits and throughput."
            ),
        )
    )
    def embeddings_asset(
        context: dg.AssetExecutionContext, warehouse: Warehouse, embedder: Embedder
    ) -> dg.MaterializeResult:
        start, end = window_of(context)
        chunks = staging.read_chunks(warehouse, start, end, source=source)
        hashes = list(chunks["content_hash"])
        model_id = embedder.model_id
        todo = missing_hashes(hashes, embeddings.cached_hashes(warehouse, model_id, hashes))
        text_of = dict(zip(chunks["content_hash"], chunks["text"], strict=True))
        tokens_of = dict(zip(chunks["content_hash"], chunks["tokens"], strict=True))
        texts = [text_of[h] for h in todo]
        # Resolving the device imports torch (seconds): only a step that embeds pays it.
        device = "none"
        if todo:
            dev, precision, batch = embedder.resolved()
            device = f"{dev}/{precision}"
            context.log.info(
                f"{len(hashes)} chunks, {len(todo)} to embed on {device}, batch {batch}"
            )
        else:
            context.log.info(f"{len(hashes)} chunks, all in the embedding cache")
        elapsed = timed()
        vectors = embed_in_slices(
            texts,
            embedder.embed,
            progress=lambda done, total: context.log.info(f"embedded {done}/{total} texts"),
        )
        seconds = elapsed()
        embeddings.store_vectors(warehouse, model_id, dict(zip(todo, vectors, strict=True)))
        hits = len(hashes) - len(todo)
        tokens = int(sum(tokens_of[h] for h in todo))
        ops.record_embed_run(
            warehouse,
            context.run_id,
            embeddings_key(source).to_user_string(),
            window_label(context),
            len(hashes),
            len(todo),
            hits,
            seconds,
        )
        report_per_partition(context, embedded_by_day(chunks, set(todo)))
        return dg.MaterializeResult(
            metadata={
                **window_metadata(
                    context,
                    texts_total=len(hashes),
                    texts_embedded=len(todo),
                    cache_hits=hits,
                    seconds=round(seconds, 3),
                    texts_per_s=round(len(todo) / seconds, 1) if seconds > 0 else 0.0,
                    tokens_per_s=round(tokens / seconds, 1) if seconds > 0 else 0.0,
                ),
                "model": model_id,
                "device": device,  # "none" when nothing was embedded
            }
        )

    return [chunks_asset, embeddings_asset]


def embedded_by_day(chunks: pd.DataFrame, embedded: set[str]) -> dict[str, dict[date, int]]:
    """Per partition: its chunks' texts, how many were embedded by this run (a text
    shared by several chunks counts once, on its first chunk) and how many were cache
    hits."""
    total: Counter[date] = Counter()
    new: Counter[date] = Counter()
    seen: set[str] = set()
    for h, d in zip(chunks["content_hash"], chunks["partition_date"], strict=True):
        day = as_day(d)
        total[day] += 1
        if h in embedded and h not in seen:
            new[day] += 1
        seen.add(h)
    return {
        "texts_total": total,
        "texts_embedded": new,
        "cache_hits": {d: total[d] - new[d] for d in total},
    }


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [a for source in SPECS for a in chunk_and_embed_assets(source, settings)]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
