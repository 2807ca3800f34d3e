"""Picks the chunking strategy for a document kind."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sophia_pipeline.documents import Document, DocumentKind, Turn

from .base import Chunk, TokenCounterLike
from .code import chunk_code
from .conversation import chunk_conversation, conversation_header
from .crm import chunk_crm_entity
from .document import chunk_document

# "[00:01:02] Alice: words", "00:01 Alice: words" or "Alice: words"
_TURN_LINE = re.compile(
    r"^\s*(?:\[?(?P<ts>\d{1,2}(?::\d{2}){1,2})\]?\s+)?(?P<speaker>[^\s:][^:\n]{0,79}?)\s*:"
    r"[ \t]?(?P<text>.*)$"
)


def parse_transcript(text: str) -> list[Turn]:
    """Turns from a "Speaker: words" transcript, one turn a line. A line with no
    speaker continues the turn before it (or opens one by "Unknown"); blank lines are
    skipped; a leading ``[hh:mm:ss]`` or ``mm:ss`` becomes the turn's ``start_s``."""
    turns: list[Turn] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        m = _TURN_LINE.match(raw)
        if m is None:
            if turns:
                last = turns[-1]
                turns[-1] = last.model_copy(update={"text": f"{last.text} {raw.strip()}"})
            else:
                turns.append(Turn(speaker="Unknown", text=raw.strip()))
            continue
        ts = m.group("ts")
        start_s = None
        if ts:
            start_s = 0.0
            for part in ts.split(":"):
                start_s = start_s * 60 + int(part)
        turns.append(
            Turn(speaker=m.group("speaker").strip(), text=m.group("text"), start_s=start_s)
        )
    return turns


def chunk_for_kind(
    kind: DocumentKind | str,
    doc_id: str,
    text: str,
    counter: TokenCounterLike,
    **kw: Any,
) -> list[Chunk]:
    """Chunks ``text`` with the strategy for ``kind``.

    Keywords used: ``turns`` and ``header`` (conversation: turns take precedence over
    parsing ``text``; the header starts every chunk, see ``conversation_header``),
    ``title`` (document), ``language`` and ``path`` (code; without either, the extension
    ending ``doc_id`` names the language, as in ``github:file:org/repo/src/app.py``).
    Others are ignored so that a caller may pass a document's attributes as they are.
    For a conversation the offsets
    point into the rendered transcript (``render_turns``), which equals ``text`` when it
    is made of "Speaker: words" lines.
    """
    k = DocumentKind(str(kind))
    if k is DocumentKind.CONVERSATION:
        turns: Sequence[Turn] | None = kw.get("turns")
        return chunk_conversation(
            doc_id,
            list(turns) if turns else parse_transcript(text),
            counter,
            header=kw.get("header"),
        )
    if k is DocumentKind.DOCUMENT:
        return chunk_document(doc_id, text, counter, title=kw.get("title"))
    if k is DocumentKind.CODE:
        return chunk_code(
            doc_id, text, counter, language=kw.get("language"), path=kw.get("path") or doc_id
        )
    return chunk_crm_entity(doc_id, text, counter)


def chunk_doc(doc: Document, counter: TokenCounterLike) -> list[Chunk]:
    """Chunks a normalized ``Document``: its turns and context header, title, and the
    ``language``/``path``
    attributes (the source id is taken as the path of a code file)."""
    attrs = doc.attributes
    return chunk_for_kind(
        doc.kind,
        doc.doc_id,
        doc.text,
        counter,
        turns=doc.turns or None,
        header=(
            conversation_header(doc.source, doc.title, doc.occurred_at, doc.attributes)
            if doc.kind is DocumentKind.CONVERSATION
            else None
        ),
        title=doc.title,
        language=attrs.get("language"),
        path=attrs.get("path") or (doc.source_id if doc.kind is DocumentKind.CODE else None),
    )
