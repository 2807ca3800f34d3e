"""Pure helpers for the embedding cache and the vector-index sync."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

# The version of what an index row carries beside its vector. It is part of every row's
# metadata hash, so bumping it makes the next sync rewrite every row (vectors from the
# embedding cache, nothing re-embedded): that is how an index built by an older version
# gains new fields. 2: provenance (entity type, kind, title, account, deal, speaker,
# author, dates, url, ordinal, span).
ROW_SCHEMA_VERSION = 2


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes, dim: int) -> np.ndarray:
    v = np.frombuffer(bytes(blob), dtype="<f4")
    if v.shape != (dim,):
        raise ValueError(f"cached vector has {v.size} values, expected {dim}")
    return v


def missing_hashes(wanted: list[str], cached: set[str]) -> list[str]:
    """Distinct hashes to embed, in first-seen order: a text repeated in the batch, or
    embedded by any earlier run, is embedded at most once, ever."""
    seen: set[str] = set()
    out = []
    for h in wanted:
        if h not in cached and h not in seen:
            seen.add(h)
            out.append(h)
    return out


@dataclass(frozen=True)
class IndexPlan:
    upsert: list[str]  # chunk ids to write (new, or content/model/chunker changed)
    delete: list[str]  # chunk ids gone from the sources: removed after the writes
    unchanged: int


def plan_index_sync(
    current: Mapping[str, tuple[str | None, ...]],
    indexed: Mapping[str, tuple[str | None, ...]],
    in_index: Collection[str] | None = None,
) -> IndexPlan:
    """``current`` and ``indexed`` map chunk id -> (content hash, model id, chunker
    version, metadata hash): what the sources say now versus what the manifest says is in
    the index. Any difference rewrites the row; only a content or model change needs a new
    vector, and the embedding cache already holds it.

    ``in_index`` (the ids the vector store holds now, when known) is believed over the
    manifest: a row the manifest lists but the index lacks (a deleted or restored index
    folder) is written again, and a row only the index holds is deleted if no chunk has
    its id."""
    if in_index is not None:
        present = set(in_index)
        indexed = {cid: key for cid, key in indexed.items() if cid in present}
        stale = present.difference(current)
    else:
        stale = set()
    upsert = sorted(cid for cid, key in current.items() if indexed.get(cid) != key)
    delete = sorted(stale.union(cid for cid in indexed if cid not in current))
    return IndexPlan(upsert=upsert, delete=delete, unchanged=len(current) - len(upsert))


def _datetime(value: Any) -> datetime | None:
    """A warehouse timestamp (pandas ``Timestamp``/``NaT``, ``datetime`` or ``None``) as a
    naive ``datetime`` or ``None``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def source_url(attributes: Any) -> str | None:
    """The record's own link, where its source gives one (Linear issues, GitHub pull
    requests, issues and comments carry ``url`` in their attributes); never a link built
    by guessing."""
    try:
        attrs = json.loads(attributes) if isinstance(attributes, str) else attributes
    except ValueError:
        return None
    url = attrs.get("url") if isinstance(attrs, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def row_metadata(chunk: Mapping[str, Any], doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The provenance an index row carries, from a ``staging.chunks`` row and its
    ``staging.documents`` row (``None`` when the document is gone: then only the chunk's
    own fields are known). The speaker is the chunk's label on conversations (the turn's
    speaker); on other kinds the label is a heading or a path, not a person."""
    d = doc or {}
    kind = _text(d.get("kind"))
    return {
        "entity_type": _text(d.get("entity_type")),
        "doc_kind": kind,
        "title": _text(d.get("title")),
        "account_id": _text(d.get("account_id")),
        "deal_id": _text(d.get("deal_id")),
        "speaker": _text(chunk.get("label")) if kind == "conversation" else None,
        "author": _text(d.get("author")),
        "occurred_at": _datetime(d.get("occurred_at")),
        "updated_at": _datetime(d.get("updated_at")),
        "url": source_url(d.get("attributes")),
        "ordinal": int(chunk["ordinal"]),
        "char_start": int(chunk["start_char"]),
        "char_end": int(chunk["end_char"]),
    }


def metadata_hash(metadata: Mapping[str, Any]) -> str:
    """A digest of a row's metadata and the row schema version: equal digests, nothing to
    rewrite."""
    payload = json.dumps(
        {"v": ROW_SCHEMA_VERSION, **metadata}, sort_keys=True, default=str, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
