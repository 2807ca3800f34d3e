"""Gong call summaries: what the call was about, the prospect's objections, the agreed
next steps. Two writers of the same three fields, both pure:

- ``extractive_summary``: no model, no network. The summary is the call's most central
  sentences (terms that recur across the call, weighted by idf), in call order; the
  objections are the prospect's sentences that carry an objection cue (price, risk,
  doubt, an internal blocker); the next steps are sentences that commit to an action
  or a date. Cue lists, not understanding: it finds what is said plainly.
- the LLM: ``summary_messages`` builds the prompt (the transcript, asked back as JSON),
  ``parse_summary`` reads the reply; the caller sends it through the gateway.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sophia_pipeline import extractive

SUMMARY_SENTENCES = 3
MAX_ITEMS = 5
TRANSCRIPT_CHARS = 12_000  # ~3k tokens of transcript in the prompt; the rest is cut

REP_ROLES = frozenset({"rep", "seller", "host", "internal", "ae", "sdr"})

# Objections: the buyer pushing back on price, risk, effort or priority.
OBJECTION_CUES = re.compile(
    r"\b(price|pricing|priced|cost|costs|expensive|budget(?:ed)?|per-seat|quote[sd]?|"
    r"discount|too much|a lot for|push back|concern(?:s|ed)?|worr(?:y|ied)|skeptic(?:al)?|"
    r"hesitan(?:t|cy)|not sure|risk|security|compliance|legal|procurement|audit|"
    r"regulated|bandwidth|not a priority|hard sell|burned|frustrat(?:ing|ed)|"
    r"adopt(?:ion)?|lock-?in|contract|custom engineering|who .* can access|"
    r"how long would it take)\b",
    re.IGNORECASE,
)

# Next steps: someone commits to an action, a meeting or a date.
NEXT_STEP_CUES = re.compile(
    r"\b(next steps?|follow[- ]up|i'll (?:send|set up|draft|share|loop|get|schedule|check)|"
    r"we'll (?:send|set up|draft|share|schedule)|let's (?:get|set|schedule|book|meet)|"
    r"send (?:me|over|you)|set up (?:a|the)|pencil in|schedule|calendar invite|"
    r"get back to you|loop in|action plan|order form|proposal|trial|pilot|"
    r"by (?:monday|tuesday|wednesday|thursday|friday|end of (?:week|day|month))|"
    r"next (?:week|monday|tuesday|wednesday|thursday|friday)|(?:monday|tuesday|wednesday|"
    r"thursday|friday) works)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CallSummary:
    summary: str
    objections: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Line:
    speaker: str
    is_rep: bool
    text: str


def _lines(turns: Sequence[dict[str, Any]]) -> list[_Line]:
    out = []
    for t in turns:
        speaker = str(t.get("speaker") or "Speaker")
        role = str(t.get("role") or "").lower()
        for s in extractive.sentences(str(t.get("text") or "")):
            out.append(_Line(speaker, role in REP_ROLES, s))
    return out


def _matching(lines: Sequence[_Line], cue: re.Pattern[str]) -> list[str]:
    seen: set[str] = set()
    found = []
    for line in lines:
        key = line.text.lower()
        if key in seen or len(extractive.terms(line.text)) < 2 or not cue.search(line.text):
            continue
        seen.add(key)
        found.append(f"{line.speaker}: {line.text}")
        if len(found) == MAX_ITEMS:
            break
    return found


def extractive_summary(turns: Sequence[dict[str, Any]]) -> CallSummary:
    """The three fields from the call's own sentences (see the module docstring)."""
    lines = _lines(turns)
    if not lines:
        return CallSummary(summary="")
    texts = [line.text for line in lines]
    ranked = extractive.rank(texts, extractive.centrality_weights(texts), min_terms=4)
    chosen = sorted(extractive.pick(texts, ranked, SUMMARY_SENTENCES))
    if not chosen:  # a call of greetings only: its first substantive line, or its first
        chosen = [next((i for i, t in enumerate(texts) if len(extractive.terms(t)) >= 2), 0)]
    summary = " ".join(f"{lines[i].speaker}: {texts[i]}" for i in chosen)
    prospect = [line for line in lines if not line.is_rep]
    return CallSummary(
        summary=summary,
        objections=_matching(prospect, OBJECTION_CUES),
        next_steps=_matching(lines, NEXT_STEP_CUES),
    )


# --- through an LLM -----------------------------------------------------------------------

SUMMARY_PROMPT = (
    "You summarize sales calls for the sales leadership team. Reply with one JSON object "
    'and nothing else: {"summary": "<2-3 sentences: who met, about what, how it went>", '
    '"objections": ["<each objection the prospect raised, in a short sentence>"], '
    '"next_steps": ["<each agreed next step, with owner and date when said>"]}. '
    "Use only what the transcript says; use empty lists when there are none."
)


def transcript_text(turns: Sequence[dict[str, Any]]) -> str:
    lines = []
    for t in turns:
        role = f" ({t['role']})" if t.get("role") else ""
        lines.append(f"{t.get('speaker') or 'Speaker'}{role}: {t.get('text') or ''}")
    return "\n".join(lines)[:TRANSCRIPT_CHARS]


def summary_messages(title: str | None, turns: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    user = f"Call: {title or 'untitled'}\n\nTranscript:\n{transcript_text(turns)}"
    return [{"role": "system", "content": SUMMARY_PROMPT}, {"role": "user", "content": user}]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_summary(text: str) -> CallSummary | None:
    """The model's JSON reply as a summary; None when it is not the asked shape (the
    caller then falls back to the extractive summary)."""
    raw = _FENCE.sub("", text.strip())
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(raw[start : end + 1])
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("summary"), str):
        return None

    def items(key: str) -> list[str]:
        value = data.get(key) or []
        if not isinstance(value, list):
            return []
        return [str(v).strip() for v in value if str(v).strip()][:MAX_ITEMS]

    summary = data["summary"].strip()
    if not summary:
        return None
    return CallSummary(summary, items("objections"), items("next_steps"))


# --- the rows of gong_intelligence.call_summaries -----------------------------------------

EXTRACTIVE = "extractive"
LLM = "llm"


@dataclass(frozen=True)
class LlmSummary:
    summary: CallSummary
    model: str  # the model that answered


# title, turns -> the LLM's summary, or None when the LLM failed or answered off-shape.
LlmSummarizer = Callable[[str | None, list[dict[str, Any]]], "LlmSummary | None"]


def transcript_hash(turns: Sequence[dict[str, Any]]) -> str:
    payload = json.dumps(
        [[t.get("speaker"), t.get("role"), t.get("text")] for t in turns], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def same_model(stored: str | None, configured: str) -> bool:
    """Whether a stored summary's model is the configured one (providers answer with a
    dated snapshot of the name asked for: ``gpt-4o-mini-2024-07-18``)."""
    return bool(stored) and (stored == configured or str(stored).startswith(configured + "-"))


@dataclass
class SummaryStats:
    llm: int = 0  # written by the LLM in this run
    reused: int = 0  # LLM summaries kept from the last run (transcript unchanged)
    extractive: int = 0
    llm_failed: int = 0  # the LLM failed or answered off-shape: extractive instead

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def summary_rows(
    docs: Sequence[dict[str, Any]],
    stored: dict[str, dict[str, Any]],
    llm: LlmSummarizer | None,
    model: str | None,
    now: Any,
) -> tuple[list[dict[str, Any]], SummaryStats]:
    """One row per live call of ``docs`` (staging documents of Gong). With ``llm`` (the
    gateway configured), an unchanged transcript keeps its stored LLM summary, others go
    to ``llm``, falling back to the extractive summary when it returns None; without
    ``llm`` every summary is extractive. ``stored``: the window's rows by call id."""
    rows: list[dict[str, Any]] = []
    stats = SummaryStats()
    for d in docs:
        if d.get("deleted"):
            continue
        turns = json.loads(d.get("turns") or "[]")
        digest = transcript_hash(turns)
        old = stored.get(str(d["source_id"]))
        result: CallSummary | None = None
        summarizer, used_model = EXTRACTIVE, None
        if llm is not None and model is not None:
            if (
                old is not None
                and old.get("summarizer") == LLM
                and old.get("transcript_hash") == digest
                and same_model(old.get("model"), model)
            ):
                result = CallSummary(
                    str(old["summary"]),
                    json.loads(old["objections"] or "[]"),
                    json.loads(old["next_steps"] or "[]"),
                )
                summarizer, used_model = LLM, old.get("model")
                stats.reused += 1
            else:
                reply = llm(d.get("title"), turns)
                if reply is not None:
                    result, summarizer, used_model = reply.summary, LLM, reply.model
                    stats.llm += 1
                else:
                    stats.llm_failed += 1
        if result is None:
            result = extractive_summary(turns)
            stats.extractive += 1
        rows.append(
            {
                "call_id": d["source_id"],
                "doc_id": d["doc_id"],
                "call_date": d["partition_date"],
                "title": d.get("title"),
                "account_id": d.get("account_id"),
                "deal_id": d.get("deal_id"),
                "summary": result.summary,
                "objections": json.dumps(result.objections, ensure_ascii=False),
                "next_steps": json.dumps(result.next_steps, ensure_ascii=False),
                "summarizer": summarizer,
                "model": used_model,
                "transcript_hash": digest,
                "updated_at": now,
            }
        )
    return rows, stats


SUMMARY_COLUMNS = [
    "call_id",
    "doc_id",
    "call_date",
    "title",
    "account_id",
    "deal_id",
    "summary",
    "objections",
    "next_steps",
    "summarizer",
    "model",
    "transcript_hash",
    "updated_at",
]


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a frame with every column, even when there are none."""
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
