"""Property tests: for random inputs, every chunker stays within the token budget and its
chunks cover every character of the source. ``assert_chunk_contract`` is shared with the
other chunking tests."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophia_pipeline.documents import Turn, render_turns
from sophia_pipeline.processing.chunking.base import Chunk, TokenCounterLike
from sophia_pipeline.processing.chunking.code import chunk_code
from sophia_pipeline.processing.chunking.conversation import chunk_conversation
from sophia_pipeline.processing.chunking.crm import chunk_crm_entity
from sophia_pipeline.processing.chunking.dispatch import chunk_for_kind
from sophia_pipeline.processing.chunking.document import chunk_document, html_to_text
from sophia_pipeline.processing.tokens import default_counter

# Long hypothesis runs; test_chunk_*.py cover the same chunkers by example.
pytestmark = pytest.mark.slow


def assert_chunk_contract(
    chunks: Sequence[Chunk], source: str, counter: TokenCounterLike, doc_id: str | None = None
) -> None:
    """Within budget, tokens as measured, numbered in order, and the spans cover every
    character of ``source`` (a source with no visible character may have no chunk)."""
    if not source.strip():
        assert not chunks or all(not c.text.strip() for c in chunks)
        return
    assert chunks, "a source with text must yield chunks"
    covered = bytearray(len(source))
    for i, c in enumerate(chunks):
        assert c.ordinal == i
        if doc_id is not None:
            assert c.doc_id == doc_id
        assert 0 <= c.start < c.end <= len(source), (c.start, c.end, len(source))
        assert c.tokens <= counter.budget, (c.tokens, c.text[:200])
        assert c.tokens == counter.count(c.text)
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
    missing = [i for i, v in enumerate(covered) if not v]
    assert not missing, f"{len(missing)} characters uncovered, first at {missing[0]}"


# A small budget makes short random inputs exercise every splitting path quickly.
SMALL_BUDGET = 48

PROPS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def small() -> TokenCounterLike:
    return default_counter(SMALL_BUDGET)


# --- strategies -----------------------------------------------------------------------

_letters = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyz") + ["é", "ß", "İ", "漢", "字", "😀", "\u0301", "ﬁ", "Ω"]
)
word = st.text(_letters, min_size=1, max_size=12)
long_word = st.text(_letters, min_size=200, max_size=900)
any_unicode = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)
sentence = st.lists(
    st.one_of(word, word, word, long_word, any_unicode), min_size=1, max_size=25
).map(lambda ws: " ".join(ws) + st_choice_end(ws))


def st_choice_end(ws: list[str]) -> str:
    return "." if len(ws) % 3 else "?"


paragraph = st.lists(sentence, min_size=1, max_size=6).map(" ".join)
heading = st.tuples(
    st.integers(1, 6), st.lists(st.one_of(word, long_word), min_size=0, max_size=6)
).map(lambda t: "#" * t[0] + " " + " ".join(t[1]))
setext = st.tuples(st.lists(word, min_size=1, max_size=5), st.sampled_from("=-~^")).map(
    lambda t: " ".join(t[0]) + "\n" + t[1] * 5
)
fence = st.lists(st.one_of(word, st.just("# comment"), st.just("")), max_size=8).map(
    lambda ls: "```\n" + "\n".join(ls) + "\n```"
)
bullets = st.lists(sentence, min_size=1, max_size=10).map(
    lambda ls: "\n".join("- " + s for s in ls)
)
breaks = st.sampled_from(["\n", "\n\n", "\n\n\n", " \n\t\n", "\r\n", "\n   \n"])
document_text = st.lists(
    st.tuples(
        st.one_of(heading, heading, setext, paragraph, paragraph, fence, bullets, any_unicode),
        breaks,
    ),
    max_size=14,
).map(lambda parts: "".join(a + b for a, b in parts))

identifier = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
statement = st.one_of(
    st.tuples(identifier, word).map(lambda t: f"{t[0]} = '{t[1]}'"),
    st.tuples(identifier, st.lists(identifier, max_size=30)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"
    ),
    long_word.map(lambda w: f"x = '{w}'"),
    st.just("# a comment"),
    st.just("pass"),
)


@st.composite
def python_code(draw: st.DrawFn) -> str:
    out: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["def", "class", "stmt", "junk"]))
        name = draw(identifier)
        if kind == "def":
            body = draw(st.lists(statement, min_size=1, max_size=30))
            out.append(f"def {name}(a, b):\n" + "\n".join("    " + s for s in body))
        elif kind == "class":
            methods = []
            for _ in range(draw(st.integers(1, 4))):
                body = draw(st.lists(statement, min_size=1, max_size=15))
                methods.append(
                    f"    def {draw(identifier)}(self):\n" + "\n".join("        " + s for s in body)
                )
            out.append(f"class {name}:\n" + "\n\n".join(methods))
        elif kind == "stmt":
            out.append(draw(statement))
        else:
            out.append(draw(any_unicode))  # code-ish text that may not parse
        out.append(draw(breaks))
    return "".join(out)


braces_code = st.lists(
    st.tuples(identifier, st.lists(statement, max_size=20)),
    max_size=5,
).map(
    lambda fs: "\n".join(
        f"function {n}(a) {{\n"
        + "\n".join(f"  {s};" for s in body if not s.startswith("#"))
        + "\n}"
        for n, body in fs
    )
)

speaker = st.one_of(st.sampled_from(["Alice", "Bob", "Dr. Who", "李雷"]), word)
turn = st.builds(
    Turn,
    speaker=speaker,
    text=st.one_of(paragraph, word, long_word, st.just("")),
    role=st.sampled_from(["rep", "prospect", None]),
)


# --- properties -----------------------------------------------------------------------


@PROPS
@given(text=document_text)
def test_document_chunks_within_budget_and_cover(small: TokenCounterLike, text: str) -> None:
    chunks = chunk_document("doc", text, small)
    assert_chunk_contract(chunks, text, small, "doc")
    for c in chunks:
        if c.label:
            # The heading path stands in front of the body (possibly elided or cut).
            assert c.text.startswith(c.label + ": ") or c.text == c.label or "…" in c.text


@PROPS
@given(text=document_text, title=st.one_of(st.none(), word, long_word))
def test_document_with_title_and_html(
    small: TokenCounterLike, text: str, title: str | None
) -> None:
    assert_chunk_contract(chunk_document("d", text, small, title=title), text, small)
    html = "<h1>" + (title or "") + "</h1><p>" + text.replace("\n\n", "</p><p>") + "</p>"
    stripped = html_to_text(html)
    assert_chunk_contract(chunk_document("h", stripped, small), stripped, small)


@PROPS
@given(text=python_code())
def test_python_code_chunks_within_budget_and_cover(small: TokenCounterLike, text: str) -> None:
    assert_chunk_contract(chunk_code("c", text, small, language="python"), text, small, "c")


@PROPS
@given(
    text=braces_code, language=st.sampled_from(["javascript", "typescript", "go", "java", "cobol"])
)
def test_braces_code_chunks_within_budget_and_cover(
    small: TokenCounterLike, text: str, language: str
) -> None:
    assert_chunk_contract(chunk_code("c", text, small, language=language), text, small)


@PROPS
@given(text=st.one_of(document_text, python_code()))
def test_crm_chunks_within_budget_and_cover(small: TokenCounterLike, text: str) -> None:
    assert_chunk_contract(chunk_crm_entity("crm", text, small), text, small, "crm")


@PROPS
@given(turns=st.lists(turn, max_size=8))
def test_conversation_chunks_within_budget_and_cover(
    small: TokenCounterLike, turns: list[Turn]
) -> None:
    source, _ = render_turns(turns)
    chunks = chunk_conversation("call", turns, small)
    assert_chunk_contract(chunks, source, small, "call")


@PROPS
@given(text=document_text, kind=st.sampled_from(["document", "code", "crm"]))
def test_dispatch_keeps_the_contract(small: TokenCounterLike, text: str, kind: str) -> None:
    chunks = chunk_for_kind(kind, "k", text, small, language="python")
    assert_chunk_contract(chunks, text, small, "k")


@PROPS
@given(turns=st.lists(turn, max_size=10), header=st.one_of(st.just(""), paragraph))
def test_conversation_windows_keep_header_labels_and_whole_turns(
    small: TokenCounterLike, turns: list[Turn], header: str
) -> None:
    """The header (cut to its share) starts every chunk and counts toward the budget; a
    turn that fits a window with the header is never split, its label kept."""
    source, _ = render_turns(turns)
    chunks = chunk_conversation("call", turns, small, header=header)
    assert_chunk_contract(chunks, source, small, "call")
    heads = {c.text.split("\n", 1)[0] for c in chunks}
    if header.strip() and chunks:
        assert len(heads) == 1
    for t in turns:
        line = f"{t.speaker}: {t.text.strip()}".rstrip()
        alone = (next(iter(heads)) + "\n" if header.strip() and chunks else "") + line
        if small.count(alone) <= small.budget:
            assert any(line in c.text for c in chunks), line
