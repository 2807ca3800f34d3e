"""Speaker-turn chunking: the last group kept, long turns split, the budget held,
every character covered."""

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


def test_consecutive_turns_of_one_speaker_merge_and_last_group_is_kept(counter) -> None:
    turns = [
        Turn(speaker="Ann", text="Hello."),
        Turn(speaker="Ann", text="Are you there?"),
        Turn(speaker="Bob", text="Yes."),
        Turn(speaker="Ann", text="Great, bye."),
    ]
    chunks = chunk_conversation("gong:call:1", turns, counter)
    assert [c.text for c in chunks] == [
        "Ann: Hello. Are you there?",
        "Bob: Yes.",
        "Ann: Great, bye.",  # the seed's sketch dropped this last group
    ]
    assert [c.chunk_id for c in chunks] == [f"gong:call:1#{i}" for i in range(3)]
    assert covered(render_turns(turns)[0], chunks)


def test_long_turn_split_at_sentences_with_label_repeated(counter) -> None:
    sentences = [f"Sentence number {i} is about the Salesforce renewal price." for i in range(120)]
    turns = [
        Turn(speaker="Paul Prospect", text=" ".join(sentences)),
        Turn(speaker="Ann", text="Ok."),
    ]
    chunks = chunk_conversation("d", turns, counter)
    paul = [c for c in chunks if c.label == "Paul Prospect"]
    assert len(paul) >= 3
    for c in paul:
        assert c.text.startswith("Paul Prospect: ")
        assert c.text.rstrip().endswith(".")  # cut at a sentence boundary
        assert counter.count(c.text) == c.tokens <= 256
    assert chunks[-1].text == "Ann: Ok."
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
