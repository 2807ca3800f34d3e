"""The pure functions behind "never duplicate, never stale", tested alone (no Dagster, no
warehouse, no model): which texts reach the embedder, which chunk ids reach the index
and which leave it, and the rows the tag and transcript builders derive from documents.

A word counter stands in for the tokenizer: the chunkers only need ``count`` and
``budget``, and the model's tokenizer has its own tests (test_chunk_*.py)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest

from sophia_pipeline.processing.chunking.base import CHUNKER_VERSIONS, content_hash
from sophia_pipeline.processing.documents_to_chunks import PlacedChunk, chunk_rows
from sophia_pipeline.processing.tag_documents import call_tags, document_mentions
from sophia_pipeline.processing.tagging.competitors import CompetitorMatcher
from sophia_pipeline.processing.tagging.talking_points import TalkingPointMatcher
from sophia_pipeline.processing.transcripts import transcript_rows
from sophia_pipeline.processing.vectors import IndexPlan, missing_hashes, plan_index_sync
from sophia_pipeline.sample.vocab import SAMPLE_PRODUCTS

DAY = date(2026, 9, 1)
MODEL = "all-MiniLM-L6-v2@0.1.0"


class WordCounter:
    """Words plus the two special tokens: monotone, like the real tokenizer's count."""

    def __init__(self, budget: int = 256) -> None:
        self.budget = budget

    def count(self, text: str) -> int:
        return len(text.split()) + 2


# --- missing_hashes: what reaches the embedder ------------------------------------------


def test_missing_hashes_of_nothing_is_nothing() -> None:
    assert missing_hashes([], set()) == []
    assert missing_hashes([], {"a"}) == []


def test_missing_hashes_skips_what_any_earlier_run_embedded() -> None:
    assert missing_hashes(["a", "b", "c"], {"a", "c"}) == ["b"]
    assert missing_hashes(["a", "b"], {"a", "b"}) == []


def test_missing_hashes_embeds_a_repeated_text_once_in_first_seen_order() -> None:
    assert missing_hashes(["c", "a", "c", "b", "a"], set()) == ["c", "a", "b"]
    assert missing_hashes(["c", "a", "c", "b", "a"], {"a"}) == ["c", "b"]


# --- plan_index_sync: what reaches and leaves the index ---------------------------------


def key(text: str, model: str = MODEL, version: str = "1") -> tuple[str, str, str]:
    return content_hash(text), model, version


def test_plan_of_empty_sources_and_empty_index_does_nothing() -> None:
    assert plan_index_sync({}, {}) == IndexPlan(upsert=[], delete=[], unchanged=0)


def test_first_sync_writes_every_chunk_sorted_and_deletes_nothing() -> None:
    current = {"d:x:2#0": key("b"), "d:x:1#1": key("a2"), "d:x:1#0": key("a1")}
    plan = plan_index_sync(current, {})
    assert plan == IndexPlan(upsert=["d:x:1#0", "d:x:1#1", "d:x:2#0"], delete=[], unchanged=0)


def test_resync_of_the_same_state_writes_nothing() -> None:
    current = {"d:x:1#0": key("a1"), "d:x:1#1": key("a2")}
    assert plan_index_sync(current, dict(current)) == IndexPlan([], [], unchanged=2)


def test_changed_text_rewrites_only_that_chunk() -> None:
    indexed = {"d:x:1#0": key("a1"), "d:x:1#1": key("a2")}
    current = {"d:x:1#0": key("a1"), "d:x:1#1": key("a2, edited")}
    assert plan_index_sync(current, indexed) == IndexPlan(["d:x:1#1"], [], unchanged=1)


def test_rechunk_into_fewer_chunks_deletes_the_left_over_ids() -> None:
    indexed = {f"d:x:1#{i}": key(f"part {i}") for i in range(4)}
    current = {"d:x:1#0": key("part 0"), "d:x:1#1": key("parts 1 to 3, merged")}
    plan = plan_index_sync(current, indexed)
    assert plan.upsert == ["d:x:1#1"]
    assert plan.delete == ["d:x:1#2", "d:x:1#3"]
    assert plan.unchanged == 1


def test_rows_the_manifest_lists_but_the_index_lost_are_written_again() -> None:
    # The index folder deleted (or restored from an older copy) under an intact manifest.
    current = {"d:x:1#0": key("a"), "d:x:1#1": key("b")}
    assert plan_index_sync(current, dict(current), in_index=set()) == IndexPlan(
        ["d:x:1#0", "d:x:1#1"], [], unchanged=0
    )
    plan = plan_index_sync(current, dict(current), in_index={"d:x:1#0"})
    assert plan == IndexPlan(["d:x:1#1"], [], unchanged=1)


def test_rows_only_the_index_holds_are_deleted_unless_a_chunk_has_the_id() -> None:
    current = {"d:x:1#0": key("a")}
    plan = plan_index_sync(current, dict(current), in_index={"d:x:1#0", "d:x:9#0"})
    assert plan == IndexPlan([], ["d:x:9#0"], unchanged=1)


def test_deleted_document_leaves_the_index_and_others_stay() -> None:
    indexed = {"d:x:1#0": key("a"), "d:x:1#1": key("b"), "d:x:2#0": key("c")}
    current = {"d:x:2#0": key("c")}
    assert plan_index_sync(current, indexed) == IndexPlan([], ["d:x:1#0", "d:x:1#1"], 1)


@pytest.mark.parametrize(
    "bumped",
    [key("a", model="all-MiniLM-L6-v2@0.2.0"), key("a", version="2")],
    ids=["model-version", "chunker-version"],
)
def test_a_version_bump_rewrites_the_chunk_even_with_the_same_text(
    bumped: tuple[str, str, str],
) -> None:
    plan = plan_index_sync({"d:x:1#0": bumped}, {"d:x:1#0": key("a")})
    assert plan == IndexPlan(["d:x:1#0"], [], unchanged=0)


# --- chunk_rows: what the chunks are ----------------------------------------------------


def call_row(doc_id: str, lines: list[tuple[str, str]], deleted: bool = False) -> dict[str, Any]:
    turns = [
        {"speaker": s, "role": "rep" if s == "Rita" else "prospect", "text": t} for s, t in lines
    ]
    return {
        "doc_id": doc_id,
        "kind": "conversation",
        "turns": json.dumps(turns),
        "text": "",
        "title": "Discovery call",
        "deleted": deleted,
        "partition_date": DAY,
    }


CALL = [
    ("Rita", "Thanks for joining. Let us talk about pricing."),
    ("Paul", "We use Salesforce today and the renewal hurts."),
    ("Rita", "Our onboarding takes two weeks."),
    ("Paul", "Send me a case study please."),
]


# With the header ("Conversation: Discovery call"), a window of this many words holds two
# of CALL's turns: the call cuts into three overlapping windows, (0, 1), (1, 2), (2, 3).
TWO_TURNS = 24


def ids(placed: list[PlacedChunk]) -> list[str]:
    return [p.chunk.chunk_id for p in placed]


def test_chunk_rows_of_no_rows_is_no_chunks() -> None:
    assert chunk_rows([], WordCounter()) == []


def test_a_tombstoned_document_has_no_chunks() -> None:
    rows = [call_row("gong:call:1", CALL, deleted=True), call_row("gong:call:2", CALL)]
    placed = chunk_rows(rows, WordCounter())
    assert placed and {p.chunk.doc_id for p in placed} == {"gong:call:2"}


def test_chunks_carry_stable_ids_partition_version_and_sentiment() -> None:
    placed = chunk_rows([call_row("gong:call:1", CALL)], WordCounter(TWO_TURNS))
    assert ids(placed) == [f"gong:call:1#{i}" for i in range(3)]  # overlapping windows
    assert placed[0].chunk.text.startswith("Conversation: Discovery call\nRita: Thanks")
    assert all(p.day == DAY for p in placed)
    assert all(p.chunker_version == CHUNKER_VERSIONS["conversation"] for p in placed)
    assert all(-1.0 <= p.sentiment <= 1.0 for p in placed)
    again = chunk_rows([call_row("gong:call:1", CALL)], WordCounter(TWO_TURNS))
    assert [(p.chunk.chunk_id, p.chunk.content_hash) for p in again] == [
        (p.chunk.chunk_id, p.chunk.content_hash) for p in placed
    ]


def manifest(placed: list[PlacedChunk], model: str = MODEL) -> dict[str, tuple[str, str, str]]:
    return {p.chunk.chunk_id: (p.chunk.content_hash, model, p.chunker_version) for p in placed}


def test_a_shorter_call_rechunks_into_fewer_chunks_and_the_rest_is_deleted() -> None:
    before = chunk_rows([call_row("gong:call:1", CALL)], WordCounter(TWO_TURNS))
    after = chunk_rows([call_row("gong:call:1", CALL[:2])], WordCounter(TWO_TURNS))
    assert ids(after) == ids(before)[:1]
    plan = plan_index_sync(manifest(after), manifest(before))
    assert plan.delete == ids(before)[1:]
    assert plan.upsert == [] and plan.unchanged == 1


def test_an_edited_turn_changes_only_its_chunks_hash() -> None:
    before = chunk_rows([call_row("gong:call:1", CALL)], WordCounter(TWO_TURNS))
    edited = [*CALL[:3], ("Paul", "Send me two case studies please.")]
    after = chunk_rows([call_row("gong:call:1", edited)], WordCounter(TWO_TURNS))
    changed = [b.chunk.chunk_id for b, a in zip(before, after, strict=True) if b != a]
    assert changed == ["gong:call:1#2"]  # the one window holding the last turn
    assert plan_index_sync(manifest(after), manifest(before)).upsert == ["gong:call:1#2"]
    assert missing_hashes(
        [p.chunk.content_hash for p in after], {p.chunk.content_hash for p in before}
    ) == [after[2].chunk.content_hash]


def test_a_chunker_version_bump_rewrites_every_chunk_of_that_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = chunk_rows([call_row("gong:call:1", CALL)], WordCounter())
    monkeypatch.setitem(CHUNKER_VERSIONS, "conversation", "bumped")
    after = chunk_rows([call_row("gong:call:1", CALL)], WordCounter())
    assert {p.chunker_version for p in after} == {"bumped"}
    plan = plan_index_sync(manifest(after), manifest(before))
    assert plan.upsert == ids(before) and plan.delete == []
    # Same texts: the content-hash cache embeds none of them again.
    cached = {p.chunk.content_hash for p in before}
    assert missing_hashes([p.chunk.content_hash for p in after], cached) == []


def test_a_small_budget_splits_a_turn_and_keeps_ordinals_dense() -> None:
    long_turn = [("Paul", " ".join(f"Sentence number {i} is here." for i in range(30)))]
    placed = chunk_rows([call_row("gong:call:9", long_turn)], WordCounter(budget=40))
    assert len(placed) > 1
    assert ids(placed) == [f"gong:call:9#{i}" for i in range(len(placed))]
    assert all(p.chunk.tokens <= 40 for p in placed)


# --- tag builders -----------------------------------------------------------------------


def doc_row(text: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "doc_id": "gong:call:1",
        "source_id": "1",
        "source": "gong",
        "title": "Discovery call",
        "text": text,
        "turns": None,
        "deleted": False,
        "account_id": "A1",
        "deal_id": "D1",
        "author": "rita@sophia.example",
        "occurred_at": datetime(2026, 9, 1, 15, 30),
        "partition_date": DAY,
        "attributes": json.dumps({"duration_s": 1800}),
    }
    row.update(over)
    return row


def chunk_of(chunk_id: str, start: int, end: int, **over: Any) -> dict[str, Any]:
    return {"chunk_id": chunk_id, "start_char": start, "end_char": end, **over}


TEXT = "We run Salesforce now. Later we looked at Clari and Gong for forecasting."


def test_no_mentions_for_a_deleted_or_empty_document() -> None:
    matcher = CompetitorMatcher(SAMPLE_PRODUCTS)
    chunks = [chunk_of("gong:call:1#0", 0, len(TEXT))]
    assert document_mentions(doc_row(TEXT, deleted=True), chunks, matcher) == []
    assert document_mentions(doc_row(""), chunks, matcher) == []
    assert document_mentions(doc_row("Nothing to see here."), chunks, matcher) == []


def test_each_mention_is_counted_once_and_attributed_to_its_chunk() -> None:
    split = TEXT.index("Later")
    # Overlapping chunks (a repeated heading, say) still count the source text once.
    chunks = [chunk_of("gong:call:1#1", split, len(TEXT)), chunk_of("gong:call:1#0", 0, split)]
    rows = document_mentions(doc_row(TEXT), chunks, CompetitorMatcher(SAMPLE_PRODUCTS))
    assert [(r["competitor"], r["chunk_id"]) for r in rows] == [
        ("Salesforce", "gong:call:1#0"),
        ("Clari", "gong:call:1#1"),
        ("Gong", "gong:call:1#1"),
    ]
    assert len({r["mention_id"] for r in rows}) == 3  # stable, distinct ids
    assert rows[0]["mention_id"] == f"gong:call:1@{TEXT.index('Salesforce')}"
    assert {r["deal_id"] for r in rows} == {"D1"} and {r["partition_date"] for r in rows} == {DAY}
    again = document_mentions(doc_row(TEXT), chunks, CompetitorMatcher(SAMPLE_PRODUCTS))
    assert again == rows


def test_a_mention_outside_every_chunk_is_marked_unattributed() -> None:
    rows = document_mentions(
        doc_row(TEXT), [chunk_of("gong:call:1#0", 0, 5)], CompetitorMatcher(SAMPLE_PRODUCTS)
    )
    assert {r["chunk_id"] for r in rows} == {"gong:call:1#?"}
    assert document_mentions(doc_row(TEXT), [], CompetitorMatcher(SAMPLE_PRODUCTS))[0][
        "chunk_id"
    ] == ("gong:call:1#?")


def turns_json(lines: list[tuple[str, str]]) -> str:
    return json.dumps(
        [{"speaker": s, "role": "rep" if s == "Rita" else "prospect", "text": t} for s, t in lines]
    )


def test_call_tags_weigh_sentiment_by_tokens_and_count_rep_talking_points_only() -> None:
    doc = doc_row("", turns=turns_json(CALL))
    chunks = [
        {"sentiment": 0.5, "tokens": 30},
        {"sentiment": -0.5, "tokens": 10},
        {"sentiment": None, "tokens": 1000},  # unscored: no weight at all
    ]
    mentions = [
        {
            "competitor": "Salesforce",
            "alias": "Salesforce",
            "chunk_id": "gong:call:1#1",
            "threat_level": 3,
            "sentiment": -0.123456,
        }
    ]
    tags = call_tags(
        doc, chunks, mentions, {"D1": {"dealstage": "closedwon"}}, TalkingPointMatcher()
    )
    assert tags["sentiment_score"] == pytest.approx((0.5 * 30 - 0.5 * 10) / 40)
    # Rita (rep) spoke of onboarding; the case study was Paul's (the prospect's) words.
    assert json.loads(tags["talking_points_used"]) == ["time_to_value"]
    assert json.loads(tags["competitive_mentions"]) == [
        {
            "competitor": "Salesforce",
            "alias": "Salesforce",
            "chunk_id": "gong:call:1#1",
            "threat_level": 3,
            "sentiment": -0.1235,
        }
    ]
    assert tags["outcome_category"] == "won"


def test_call_tags_of_a_bare_call() -> None:
    tags = call_tags(doc_row("", turns=None, deal_id=None), [], [], {}, TalkingPointMatcher())
    assert tags == {
        "sentiment_score": None,
        "competitive_mentions": "[]",
        "talking_points_used": "[]",
        "outcome_category": "unknown",
    }


# --- transcript builder -----------------------------------------------------------------


def test_transcripts_of_no_documents_is_an_empty_frame() -> None:
    empty = pd.DataFrame()
    assert transcript_rows(empty, empty, empty, {}, TalkingPointMatcher()).empty


def test_one_transcript_row_per_live_call_with_its_own_chunks_and_mentions() -> None:
    docs = pd.DataFrame(
        [
            doc_row("Rita: hi", turns=turns_json(CALL)),
            doc_row("", doc_id="gong:call:2", source_id="2", deleted=True, turns="[]"),
            doc_row(
                "Paul: hello",
                doc_id="gong:call:3",
                source_id="3",
                deal_id=None,
                turns=turns_json(CALL[1:2]),
                attributes="{}",
            ),
        ]
    )
    chunks = pd.DataFrame(
        [
            {"doc_id": "gong:call:1", "sentiment": 0.2, "tokens": 5},
            {"doc_id": "gong:call:1", "sentiment": 0.4, "tokens": 5},
            {"doc_id": "gong:call:2", "sentiment": -1.0, "tokens": 5},  # the deleted call's
            {"doc_id": "gong:call:3", "sentiment": -0.6, "tokens": 5},
        ]
    )
    mentions = pd.DataFrame(
        [
            {
                "doc_id": "gong:call:3",
                "competitor": "Salesforce",
                "alias": "Salesforce",
                "chunk_id": "gong:call:3#0",
                "threat_level": 2,
                "sentiment": 0.0,
            }
        ]
    )
    deals = {"D1": {"dealstage": "contractsent"}}
    out = transcript_rows(docs, chunks, mentions, deals, TalkingPointMatcher())
    assert list(out["call_id"]) == ["1", "3"]  # the deleted call has no row
    first, third = out.iloc[0], out.iloc[1]
    assert first["transcript_chunks"] == 2 and third["transcript_chunks"] == 1
    assert first["sentiment_score"] == pytest.approx(0.3)
    assert third["sentiment_score"] == pytest.approx(-0.6)
    assert json.loads(first["competitive_mentions"]) == []
    assert [m["chunk_id"] for m in json.loads(third["competitive_mentions"])] == ["gong:call:3#0"]
    assert first["turn_count"] == 4 and third["turn_count"] == 1
    assert json.loads(first["participants"]) == [
        {"name": "Paul", "role": "prospect"},
        {"name": "Rita", "role": "rep"},
    ]
    assert first["duration_s"] == 1800 and pd.isna(third["duration_s"])
    assert first["outcome_category"] == "negotiation" and third["outcome_category"] == "unknown"
    assert first["call_date"] == DAY and first["rep_email"] == "rita@sophia.example"
    # Re-building gives the same rows (only updated_at moves): an upsert, not an append.
    again = transcript_rows(docs, chunks, mentions, deals, TalkingPointMatcher())
    pd.testing.assert_frame_equal(out.drop(columns="updated_at"), again.drop(columns="updated_at"))
