"""A question answered from already-retrieved hits, with citations.

Two ways, one result type (``Answer``):

- ``llm``: when the LLM gateway is configured. The hits go to the model as numbered
  sources with an instruction to answer only from them and cite them as ``[n]``; the
  citations are the sources it cited (all it was given, when it cited none). Answers
  are cached with the ``llm_responses`` semantic strategy: a question close enough in
  meaning to one answered before (in the same ``scope``) is served from the cache with
  no LLM call, and recorded as a cache hit in ``llm_usage``.
- ``extractive``: no key, or the LLM failed. The sentences of the hits that share the
  most (idf-weighted) terms with the question, each followed by its citation. No model,
  no network, deterministic; not cached (it costs less than a cache lookup).

Retrieval is the caller's: this module takes any objects with the fields of a search
hit (``HitLike``), so it does not depend on the search module.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from sophia_pipeline import extractive
from sophia_pipeline.resources.cache_strategies import SemanticCache
from sophia_pipeline.resources.llm_gateway import LlmCallError, LLMGateway

log = logging.getLogger(__name__)

PURPOSE = "answer"
MAX_SOURCES = 8  # hits given to the model (or scanned for sentences)
SOURCE_CHARS = 1500  # of each hit's text in the prompt: 8 x 1500 chars stays ~3k tokens
EXTRACTIVE_SENTENCES = 3


class HitLike(Protocol):
    """What the answerer reads of a search hit."""

    @property
    def chunk_id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def snippet(self) -> str: ...


class Citation(BaseModel):
    n: int = Field(description="The number the answer text cites it by: [n].")
    chunk_id: str
    doc_id: str
    title: str | None = None
    source: str


class Answer(BaseModel):
    question: str
    text: str
    citations: list[Citation]
    mode: Literal["llm", "extractive"]
    model: str | None = Field(
        default=None, description="The LLM that wrote it; null when extractive."
    )
    cached: bool = Field(default=False, description="Served from the semantic cache, no LLM call.")


def hit_text(hit: HitLike) -> str:
    """The fullest text a hit carries: its chunk text when it has one, else its snippet."""
    text = getattr(hit, "text", None)
    return text if isinstance(text, str) and text.strip() else hit.snippet or ""


def _citation(n: int, hit: HitLike) -> Citation:
    return Citation(
        n=n, chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title, source=hit.source
    )


# --- extractive --------------------------------------------------------------------------

NO_HITS = "Nothing indexed matches this question."


def extractive_answer(question: str, hits: Sequence[HitLike]) -> Answer:
    """The best sentences of the hits for ``question``, each cited; hits are taken in
    the order given (the retriever's rank breaks ties)."""
    hits = list(hits)[:MAX_SOURCES]
    if not hits:
        return Answer(question=question, text=NO_HITS, citations=[], mode="extractive")
    owners: list[int] = []
    candidates: list[str] = []
    for i, hit in enumerate(hits):
        for sentence in extractive.sentences(hit_text(hit)):
            owners.append(i)
            candidates.append(sentence)
    # idf over the hits' sentences: a question term every passage repeats says little.
    weights = extractive.idf(extractive.terms(c) for c in candidates)
    asked = {t: weights.get(t, 0.0) for t in set(extractive.terms(question))}
    ranked = extractive.rank(candidates, asked)
    chosen = extractive.pick(candidates, ranked, EXTRACTIVE_SENTENCES)
    if not chosen:
        # No sentence shares a term with the question: say so, and point at the best hit.
        top = hits[0]
        lead = next(iter(extractive.sentences(hit_text(top))), hit_text(top)[:300])
        text = f"No passage answers this directly; the closest match says: {lead} [1]"
        return Answer(
            question=question, text=text, citations=[_citation(1, top)], mode="extractive"
        )
    numbers: dict[int, int] = {}  # hit index -> citation number, by first use
    parts = []
    for idx in sorted(chosen, key=lambda j: (owners[j], j)):  # reading order
        hit_index = owners[idx]
        n = numbers.setdefault(hit_index, len(numbers) + 1)
        parts.append(f"{candidates[idx]} [{n}]")
    citations = [_citation(n, hits[i]) for i, n in numbers.items()]
    return Answer(question=question, text=" ".join(parts), citations=citations, mode="extractive")


# --- through the LLM ---------------------------------------------------------------------

SYSTEM_PROMPT = (
    "You answer questions from a company's sales, product and engineering records for its "
    "leadership team. Use only the numbered sources given. Cite every claim with the "
    "source number in square brackets, like [2]. If the sources do not answer the "
    "question, say that they do not, in one sentence. Be brief: at most five sentences."
)


def answer_messages(question: str, hits: Sequence[HitLike]) -> list[dict[str, str]]:
    blocks = []
    for n, hit in enumerate(hits, start=1):
        title = hit.title or hit.doc_id
        body = " ".join(hit_text(hit).split())[:SOURCE_CHARS]
        blocks.append(f"[{n}] {title} ({hit.source}, {hit.doc_id})\n{body}")
    user = f"Question: {question}\n\nSources:\n\n" + "\n\n".join(blocks)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


_CITED = re.compile(r"\[(\d{1,2})\]")


def cited_numbers(text: str, available: int) -> list[int]:
    """The source numbers ``text`` cites, in order of first citation, in range."""
    seen: list[int] = []
    for m in _CITED.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= available and n not in seen:
            seen.append(n)
    return seen


def llm_answer(question: str, hits: Sequence[HitLike], gateway: LLMGateway) -> Answer:
    hits = list(hits)[:MAX_SOURCES]
    if not hits:
        return Answer(question=question, text=NO_HITS, citations=[], mode="extractive")
    reply = gateway.chat(answer_messages(question, hits), purpose=PURPOSE)
    numbers = cited_numbers(reply.text, len(hits)) or list(range(1, len(hits) + 1))
    return Answer(
        question=question,
        text=reply.text,
        citations=[_citation(n, hits[n - 1]) for n in numbers],
        mode="llm",
        model=reply.model,
    )


# --- the building block ------------------------------------------------------------------


def answer(
    question: str,
    hits: Sequence[HitLike],
    *,
    gateway: LLMGateway | None = None,
    cache: SemanticCache | None = None,
) -> Answer:
    """``question`` answered from ``hits``: through the gateway when it is configured
    (semantic cache first, when given), else extractive. An LLM failure degrades to the
    extractive answer with a logged warning rather than failing the request.

    Give the cache a ``namespace`` per retrieval scope (filters): an answer drawn from
    one account's calls must not answer the same question about another account."""
    if gateway is None or not gateway.configured or not hits:
        return extractive_answer(question, hits)
    if cache is not None:
        hit = cache.lookup(question)
        if hit is not None and isinstance(hit.answer, dict):
            try:
                cached = Answer.model_validate({**hit.answer, "question": question, "cached": True})
            except ValueError as exc:
                log.warning("cached answer unreadable (%s); asking the LLM", exc)
            else:
                gateway.record_cache_hit(cached.model or gateway.model, PURPOSE)
                return cached
    try:
        result = llm_answer(question, hits, gateway)
    except LlmCallError as exc:
        log.warning("LLM answer failed (%s); answering extractively", exc)
        return extractive_answer(question, hits)
    if cache is not None:
        cache.store(question, _cacheable(result))
    return result


def _cacheable(result: Answer) -> dict[str, Any]:
    return result.model_dump(mode="json", exclude={"cached"})
