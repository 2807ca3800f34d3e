"""Conversation windows: whole turns packed under the budget with a context header and a
one-turn overlap, the last turn kept, long turns split, every character covered."""

from __future__ import annotations

import pytest

from sophia_pipeline.documents import Turn, render_turns
from sophia_pipeline.processing.chunking.conversation import chunk_conversation
from sophia_pipeline.processing.tokens import default_counter


@pytest.fixture(scope="module")
def counter():
    return default_counter()


def covered(source: str, chunks) -> bool:  # type: ignore[no-untyped-def]
    spans = sorted((c.start, c.end) for c in chunks)
    pos = 0
    for s, e in spans:
        if s > pos:
            return False
        pos = max(pos, e)
    return pos >= len(source)


def test_short_turns_pack_into_one_window_with_labels_and_last_turn_kept(counter) -> None:
    turns = [
        Turn(speaker="Ann", text="Hello."),
        Turn(speaker="Ann", text="Are you there?"),
        Turn(speaker="Bob", text="Yes."),
        Turn(speaker="Ann", text="Great, bye."),
    ]
    chunks = chunk_conversation(
        "gong:call:1", turns, counter, header="Gong call: Demo | 2024-03-05"
    )
    assert [c.text for c in chunks] == [
        "Gong call: Demo | 2024-03-05\n"
        "Ann: Hello.\nAnn: Are you there?\nBob: Yes.\nAnn: Great, bye."
    ]
    assert chunks[0].label == "Ann, Bob"
    assert [c.chunk_id for c in chunks] == ["gong:call:1#0"]
    assert covered(render_turns(turns)[0], chunks)


def _many_turns(n: int) -> list[Turn]:
    return [
        Turn(
            speaker="Rep Ann" if i % 2 == 0 else "Prospect Bob",
            text=f"Point {i}: we talked about the renewal timeline and the pricing tiers again.",
        )
        for i in range(n)
    ]


def test_windows_fill_the_budget_overlap_by_one_turn_and_never_split_a_turn(counter) -> None:
    turns = _many_turns(60)
    header = "Gong call: Acme <> Sophia: Pricing | account Acme | 2024-03-05"
    chunks = chunk_conversation("d", turns, counter, header=header)
    assert len(chunks) > 3
    lines = [f"{t.speaker}: {t.text}" for t in turns]
    for c in chunks:
        assert c.text.startswith(header + "\n")
        assert counter.count(c.text) == c.tokens <= 256
        body = c.text.split("\n")[1:]
        assert all(line in lines for line in body)  # whole turns, labels kept
    assert all(c.tokens > 256 - 40 for c in chunks[:-1])  # packed up to the budget
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.text.split("\n")[-1] == b.text.split("\n")[1]  # one turn repeated
    # every turn is in some chunk, the last one included
    assert all(any(line in c.text.split("\n") for c in chunks) for line in lines)
    assert covered(render_turns(turns)[0], chunks)


def test_a_turn_too_long_for_the_window_opens_a_new_one_rather_than_being_cut(counter) -> None:
    medium = "This answer runs long on purpose and covers the migration plan in detail. " * 10
    turns = [Turn(speaker="A", text="Short question?"), Turn(speaker="B", text=medium.strip())]
    turns += [Turn(speaker="A", text=medium.strip())]
    chunks = chunk_conversation("d", turns, counter, header="h")
    for t in turns:
        assert any(f"{t.speaker}: {t.text}" in c.text for c in chunks)


def test_header_is_cut_to_its_share_of_the_budget(counter) -> None:
    chunks = chunk_conversation(
        "d", [Turn(speaker="A", text="hi")], counter, header="very long title " * 100
    )
    head = chunks[0].text.split("\n")[0]
    assert head.endswith("…") and counter.count(head) <= 256 // 4


def test_conversation_header_says_which_call_account_channel_and_day() -> None:
    from datetime import datetime

    from sophia_pipeline.processing.chunking.conversation import conversation_header

    at = datetime(2024, 3, 5, 17, 30)
    assert (
        conversation_header("gong", "Acme <> Sophia: Demo", at, {"account_name": "Globex"})
        == "Gong call: Acme <> Sophia: Demo | account Globex | 2024-03-05"
    )
    # the account is not repeated when the title already names it
    assert conversation_header("gong", "Acme <> Sophia", at, {"account_name": "Acme"}) == (
        "Gong call: Acme <> Sophia | 2024-03-05"
    )
    assert (
        conversation_header(
            "slack",
            "Lost Acme to Clari",
            at,
            {"channel": "C1", "channel_name": "competitive-intel"},
        )
        == "Slack #competitive-intel thread: Lost Acme to Clari | 2024-03-05"
    )
    assert conversation_header("slack", None, "2024-03-05T00:00:00", {"channel": "C1"}) == (
        "Slack #C1 thread | 2024-03-05"
    )


def test_long_turn_split_at_sentences_with_label_repeated(counter) -> None:
    sentences = [f"Sentence number {i} is about the Salesforce renewal price." for i in range(120)]
    turns = [
        Turn(speaker="Paul Prospect", text=" ".join(sentences)),
        Turn(speaker="Ann", text="Ok."),
    ]
    chunks = chunk_conversation("d", turns, counter, header="Gong call: X")
    paul = [c for c in chunks if c.label == "Paul Prospect"]
    assert len(paul) >= 3
    for c in paul:
        assert c.text.startswith("Gong call: X\nPaul Prospect: ")
        assert c.text.rstrip().endswith(".")  # cut at a sentence boundary
        assert counter.count(c.text) == c.tokens <= 256
    assert chunks[-1].text == "Gong call: X\nAnn: Ok."
    assert covered(render_turns(turns)[0], chunks)


def test_no_chunk_over_limit_even_without_sentence_or_word_breaks(counter) -> None:
    turns = [
        Turn(speaker="A", text="word " * 600),
        Turn(speaker="B", text="x" * 5000),
        Turn(speaker="A", text="é" * 3000 + " end"),
    ]
    chunks = chunk_conversation("d", turns, counter)
    assert all(counter.count(c.text) <= 256 for c in chunks)
    assert covered(render_turns(turns)[0], chunks)


def test_every_source_character_is_in_its_chunk(counter) -> None:
    turns = [
        Turn(speaker=s, text=f"{s} says thing {i}. And more {i}!") for i, s in enumerate("ABBA")
    ]
    source, _ = render_turns(turns)
    for c in chunk_conversation("d", turns, counter):
        body = source[c.start : c.end]
        for line in body.splitlines():
            words = line.split(": ", 1)[-1].strip()
            assert words in c.text


def test_empty_conversation_has_no_chunks(counter) -> None:
    assert chunk_conversation("d", [], counter) == []


def test_span_starting_after_a_sentence_end_gives_no_empty_chunk(counter) -> None:
    # Regression: the sentence regex saw the "." before the span and cut a
    # whitespace-only first piece, i.e. a chunk with empty text.
    from sophia_pipeline.processing.chunking.base import pack_spans, sentence_spans

    src = "Done. " + "word " * 600
    assert sentence_spans(src, 5, 20)[0] != (5, 6)
    pieces = pack_spans(src, [(5, len(src))], counter)
    assert all(p.text.strip() for p in pieces)
