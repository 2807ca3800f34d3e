"""Call summaries: the extractive summarizer on a realistic call, the LLM reply's parser,
and which calls a re-run sends to the LLM again."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sophia_pipeline.processing import summaries

TURNS: list[dict[str, Any]] = [
    {"speaker": "Rita", "role": "rep", "text": "Hi Paul, thanks for making the time today."},
    {"speaker": "Paul", "role": "prospect", "text": "Sure, sounds good."},
    {
        "speaker": "Rita",
        "role": "rep",
        "text": "How does your team run forecast reviews today? Where do deals stall?",
    },
    {
        "speaker": "Paul",
        "role": "prospect",
        "text": "Honestly our forecast reviews still happen in spreadsheets. "
        "Deals stall after the technical evaluation, when legal and procurement get involved.",
    },
    {
        "speaker": "Rita",
        "role": "rep",
        "text": "The forecast view rolls up each rep's commit and flags deals with no recent "
        "activity. It's a lot better than a spreadsheet. We could replace the spreadsheet "
        "forecast reviews entirely.",
    },
    {
        "speaker": "Paul",
        "role": "prospect",
        "text": "To be honest, the price is higher than what we budgeted. "
        "Our security team will have questions about where call recordings are stored.",
    },
    {
        "speaker": "Rita",
        "role": "rep",
        "text": "Totally fair. We're SOC 2 Type II certified and I can send the report today. "
        "For next steps, I'll send over a recap and the documents you asked for today.",
    },
    {
        "speaker": "Paul",
        "role": "prospect",
        "text": "Let me check with my boss and get back to you by end of week.",
    },
    {"speaker": "Rita", "role": "rep", "text": "Great, talk soon."},
]


def test_extractive_summary_finds_topic_objections_and_next_steps() -> None:
    result = summaries.extractive_summary(TURNS)
    assert "forecast" in result.summary.lower()
    assert "sounds good" not in result.summary.lower() and "talk soon" not in result.summary
    assert result.objections == [
        "Paul: Deals stall after the technical evaluation, when legal and procurement get "
        "involved.",
        "Paul: To be honest, the price is higher than what we budgeted.",
        "Paul: Our security team will have questions about where call recordings are stored.",
    ]
    # The rep's own reply about security is not an objection; its commitments are steps.
    assert result.next_steps == [
        "Rita: For next steps, I'll send over a recap and the documents you asked for today.",
        "Paul: Let me check with my boss and get back to you by end of week.",
    ]


def test_a_call_of_pleasantries_still_gets_a_summary_and_empty_lists() -> None:
    turns = [
        {"speaker": "A", "role": "rep", "text": "Hello!"},
        {"speaker": "B", "role": "prospect", "text": "Hi there, good morning."},
    ]
    result = summaries.extractive_summary(turns)
    assert result.summary and result.objections == [] and result.next_steps == []
    assert summaries.extractive_summary([]).summary == ""


def test_the_llm_reply_is_parsed_or_refused() -> None:
    reply = (
        '```json\n{"summary": "Paul wants forecasts.", "objections": ["Price"], '
        '"next_steps": []}\n```'
    )
    assert summaries.parse_summary(reply) == summaries.CallSummary(
        "Paul wants forecasts.", ["Price"], []
    )
    assert summaries.parse_summary("I cannot summarize this.") is None
    assert summaries.parse_summary('{"objections": []}') is None
    assert summaries.parse_summary('{"summary": "  "}') is None
    assert summaries.parse_summary('{"summary": "ok", "objections": "price"}') == (
        summaries.CallSummary("ok", [], [])
    )
    assert summaries.parse_summary("[" * 100_000) is None


def test_the_prompt_carries_roles_and_a_bounded_transcript() -> None:
    messages = summaries.summary_messages("Acme discovery", TURNS * 200)
    user = messages[1]["content"]
    assert user.startswith("Call: Acme discovery")
    assert "Paul (prospect): To be honest" in user
    assert len(user) < summaries.TRANSCRIPT_CHARS + 100


def doc(call_id: str, turns: list[dict[str, Any]], deleted: bool = False) -> dict[str, Any]:
    return {
        "doc_id": f"gong:call:{call_id}",
        "source_id": call_id,
        "title": f"Call {call_id}",
        "turns": json.dumps(turns),
        "account_id": "A1",
        "deal_id": None,
        "partition_date": date(2026, 9, 1),
        "deleted": deleted,
    }


NOW = datetime(2026, 9, 2, 8, 0)


def test_rows_without_an_llm_are_extractive() -> None:
    rows, stats = summaries.summary_rows(
        [doc("c1", TURNS), doc("gone", TURNS, deleted=True)], {}, None, None, NOW
    )
    assert [r["call_id"] for r in rows] == ["c1"]
    assert rows[0]["summarizer"] == "extractive" and rows[0]["model"] is None
    assert json.loads(rows[0]["objections"]) == summaries.extractive_summary(TURNS).objections
    assert stats.as_dict() == {"llm": 0, "reused": 0, "extractive": 1, "llm_failed": 0}


def test_a_rerun_reuses_unchanged_llm_summaries_and_redoes_changed_ones() -> None:
    asked: list[str | None] = []

    def llm(title: str | None, turns: list[dict[str, Any]]) -> summaries.LlmSummary | None:
        asked.append(title)
        if title == "Call c3":
            return None  # the LLM failed for this one
        return summaries.LlmSummary(summaries.CallSummary(f"about {title}"), "gpt-4o-mini-2024")

    docs = [doc("c1", TURNS), doc("c2", TURNS), doc("c3", TURNS)]
    first, stats = summaries.summary_rows(docs, {}, llm, "gpt-4o-mini", NOW)
    assert asked == ["Call c1", "Call c2", "Call c3"]
    assert stats.as_dict() == {"llm": 2, "reused": 0, "extractive": 1, "llm_failed": 1}
    assert [r["summarizer"] for r in first] == ["llm", "llm", "extractive"]

    stored = {r["call_id"]: r for r in first}
    asked.clear()
    changed = [doc("c1", TURNS), doc("c2", [*TURNS, {"speaker": "P", "text": "One more."}])]
    again, stats = summaries.summary_rows([*changed, docs[2]], stored, llm, "gpt-4o-mini", NOW)
    # c1 unchanged: kept. c2 changed: asked again. c3 was extractive: the LLM gets a retry.
    assert asked == ["Call c2", "Call c3"]
    assert again[0]["summary"] == "about Call c1" and again[0]["model"] == "gpt-4o-mini-2024"
    assert stats.reused == 1
    # Another model configured: nothing is reused.
    asked.clear()
    summaries.summary_rows(changed, stored, llm, "gpt-4.1", NOW)
    assert asked == ["Call c1", "Call c2"]
