"""Document chunking: heading sections, prefixes, HTML, and real READMEs."""

from __future__ import annotations

import importlib.metadata

import pytest

from sophia_pipeline.processing.chunking.base import TokenCounterLike
from sophia_pipeline.processing.chunking.document import chunk_document, html_to_text
from sophia_pipeline.processing.tokens import default_counter

from .test_chunk_properties import assert_chunk_contract


@pytest.fixture(scope="module")
def counter() -> TokenCounterLike:
    return default_counter()


def test_heading_path_prefixes_every_chunk(counter: TokenCounterLike) -> None:
    text = (
        "Intro before any heading.\n\n"
        "# Install\n\n"
        "## Linux\n\n"
        "Run the installer. Then restart.\n\n"
        "## Windows\n"
        "Use the MSI.\n"
    )
    chunks = chunk_document("d", text, counter)
    assert_chunk_contract(chunks, text, counter, "d")
    assert [c.text for c in chunks] == [
        "Intro before any heading.",
        # The empty "Install" section joins its first child; neither heading line repeats.
        "Install > Linux: Run the installer. Then restart.",
        "Install > Windows: Use the MSI.",
    ]
    assert [c.label for c in chunks] == [None, "Install > Linux", "Install > Windows"]
    assert chunks[1].start == text.index("# Install")


def test_sibling_after_sibling_pops_the_path(counter: TokenCounterLike) -> None:
    text = "# A\n## B\nb text\n### C\nc text\n# D\nd text\n"
    labels = [c.label for c in chunk_document("d", text, counter)]
    assert labels == ["A > B", "A > B > C", "D"]


def test_empty_leaf_heading_keeps_its_own_chunk(counter: TokenCounterLike) -> None:
    text = "# A\n\n# B\nbody\n"
    chunks = chunk_document("d", text, counter)
    assert [c.text for c in chunks] == ["A", "B: body"]
    assert_chunk_contract(chunks, text, counter)


def test_setext_and_rst_headings(counter: TokenCounterLike) -> None:
    text = (
        "=======\nProject\n=======\n\n"
        "Usage\n-----\n\nCall it.\n\n"
        "Details\n~~~~~~~\n\nMore.\n\n"
        "Other\n-----\n\nLast.\n"
    )
    chunks = chunk_document("d", text, counter)
    assert [c.text for c in chunks] == [
        "Project > Usage: Call it.",
        "Project > Usage > Details: More.",
        "Project > Other: Last.",
    ]
    assert_chunk_contract(chunks, text, counter)


def test_fenced_code_is_not_sectioned_nor_split_at_blank_lines(
    counter: TokenCounterLike,
) -> None:
    text = "# Build\n\n```sh\n# not a heading\nmake\n\nmake install\n```\n"
    chunks = chunk_document("d", text, counter)
    assert len(chunks) == 1
    assert chunks[0].text == "Build: ```sh\n# not a heading\nmake\n\nmake install\n```"


def test_front_matter_is_not_a_title(counter: TokenCounterLike) -> None:
    text = "---\ntitle: x\ndate: y\n---\n\n# Real\n\nbody\n"
    chunks = chunk_document("d", text, counter)
    # The front matter is no title, and no chunk of its own: it joins the first chunk's
    # span (which still starts at 0) and stays out of every chunk's text.
    assert [(c.label, c.text, c.start) for c in chunks] == [("Real", "Real: body", 0)]


def test_no_chunk_is_only_a_rule(counter: TokenCounterLike) -> None:
    text = "# A\n\nFirst part.\n\n------\n\n# B\n\n***\n\nSecond part.\n\n- - -\n"
    chunks = chunk_document("d", text, counter)
    assert [c.text for c in chunks] == ["A: First part.", "B: Second part."]
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert chunks[0].end == chunks[1].start


def test_rule_only_sections_join_their_neighbours_under_a_small_budget() -> None:
    small = default_counter(24)
    text = "Intro words here.\n\n" + "\n\n".join(
        f"Paragraph {i} has a few words in it.\n\n---" for i in range(8)
    )
    chunks = chunk_document("d", text, small)
    assert_chunk_contract(chunks, text, small, "d")
    assert all(c.text.strip("-* \n") for c in chunks)
    assert not any("---" in c.text for c in chunks)


def test_a_split_table_repeats_its_header_row(counter: TokenCounterLike) -> None:
    rows = "\n".join(
        f"| Acme {i} | renewal in Q{i % 4 + 1} | {i * 7} seats on the enterprise plan |"
        for i in range(60)
    )
    text = "# Accounts\n\n| Account | Renewal | Notes |\n|---|---|---|\n" + rows + "\n"
    chunks = chunk_document("d", text, counter)
    assert len(chunks) > 2
    for c in chunks:
        assert c.text.startswith("Accounts: | Account | Renewal | Notes |\n|---|---|---|\n| Acme")
        assert c.tokens <= 256
    body_rows = [line for c in chunks for line in c.text.splitlines() if "| Acme" in line]
    assert len(body_rows) == 60  # every row once: the header is the only repeat


def test_title_roots_the_path(counter: TokenCounterLike) -> None:
    chunks = chunk_document("d", "Plain body.\n\n## Steps\nDo it.\n", counter, title="ENG-42")
    assert [c.text for c in chunks] == ["ENG-42: Plain body.", "ENG-42 > Steps: Do it."]


def test_long_section_packs_paragraphs_then_sentences(counter: TokenCounterLike) -> None:
    para = " ".join(f"Sentence number {i} talks about the deployment." for i in range(12))
    text = "# Guide\n\n## Deploy\n\n" + "\n\n".join([para] * 6) + "\n"
    chunks = chunk_document("d", text, counter)
    assert len(chunks) > 2
    assert_chunk_contract(chunks, text, counter)
    for c in chunks:
        assert c.text.startswith("Guide > Deploy: ")
        # Whole sentences only: every piece ends where a sentence ends.
        assert c.text.endswith(".")


def test_big_list_is_cut_between_items(counter: TokenCounterLike) -> None:
    items = "\n".join(f"- item {i} with a few words of text in it" for i in range(80))
    text = "# List\n\n" + items + "\n"
    chunks = chunk_document("d", text, counter)
    assert len(chunks) > 1
    assert_chunk_contract(chunks, text, counter)
    for c in chunks:
        body = c.text.removeprefix("List: ")
        assert all(line.startswith("- item ") for line in body.splitlines())


def test_overlong_heading_path_is_elided_within_budget(counter: TokenCounterLike) -> None:
    long_title = " ".join(["configuration"] * 120)
    text = f"# Top\n\n## {long_title}\n\nbody text\n"
    chunks = chunk_document("d", text, counter)
    assert_chunk_contract(chunks, text, counter)
    # The cut heading stays in the body, so no word of it is lost from the chunks.
    joined = " ".join(c.text for c in chunks)
    assert joined.count("configuration") >= 120


def test_blank_text_has_no_chunk(counter: TokenCounterLike) -> None:
    assert chunk_document("d", "", counter) == []
    assert chunk_document("d", " \n\n\t", counter) == []


def test_html_to_text_renders_headings_lists_tables() -> None:
    html = (
        "<html><head><title>t</title><style>p { color: red }</style></head><body>"
        "<h1>Guide</h1><p>Hello &amp; <b>welcome</b>\n   back.</p>"
        "<script>var x = 1;</script>"
        "<h2>Steps</h2><ul><li>one</li><li>two</li></ul>"
        "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
        "<pre>  keep\n    indent</pre></body></html>"
    )
    text = html_to_text(html)
    assert text == (
        "# Guide\n\nHello & welcome back.\n\n## Steps\n\n- one\n- two\n\na | b\n1 | 2\n\n"
        "  keep\n    indent\n"
    )
    assert "var x" not in text and "color" not in text


def test_html_sections_like_markdown(counter: TokenCounterLike) -> None:
    text = html_to_text("<h1>Pricing</h1><h2>Enterprise</h2><p>Call us.</p>")
    assert [c.text for c in chunk_document("h", text, counter)] == [
        "Pricing > Enterprise: Call us."
    ]


# --- real text nobody here wrote --------------------------------------------------------

README_COUNT = 40
MAX_README_CHARS = 40_000


def _readmes() -> list[tuple[str, str]]:
    """Long descriptions of installed distributions, ``README_COUNT`` of them spread
    evenly over the name-sorted list (deterministic for a given environment)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        body = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
        if 500 <= len(body) <= MAX_README_CHARS:
            found.setdefault(name.lower(), body)
    names = sorted(found)
    step = max(1, len(names) // README_COUNT)
    return [(n, found[n]) for n in names[::step][:README_COUNT]]


def test_installed_package_readmes(counter: TokenCounterLike) -> None:
    readmes = _readmes()
    total = 0
    sectioned = 0
    for name, body in readmes:
        chunks = chunk_document(f"readme:{name}", body, counter)
        assert_chunk_contract(chunks, body, counter, f"readme:{name}")
        total += len(chunks)
        sectioned += sum(1 for c in chunks if c.label)
    print(f"document chunker: {len(readmes)} READMEs, {total} chunks, {sectioned} under headings")
    assert len(readmes) >= 30
    assert total >= len(readmes)
    # Most READMEs have headings (Markdown or reST): their chunks carry heading paths.
    assert sectioned >= total // 2


def test_a_heading_that_repeats_the_title_is_said_once(counter: TokenCounterLike) -> None:
    chunks = chunk_document(
        "d", "# Login fails\n\n## Steps\n\nClick it.\n", counter, title="ENG-42: Login fails"
    )
    assert [c.text for c in chunks] == ["ENG-42: Login fails > Steps: Click it."]


def test_a_grid_table_border_alone_is_no_chunk() -> None:
    small = default_counter(40)
    row = "| ``timeout`` | int | seconds before the test is stopped and reported |\n"
    text = "Settings\n========\n\n+----------+-----+\n" + row * 6 + "+----------+-----+\n"
    chunks = chunk_document("d", text, small)
    assert_chunk_contract(chunks, text, small, "d")
    assert all("``timeout``" in c.text for c in chunks)


def test_a_piece_of_bare_punctuation_joins_its_neighbour() -> None:
    small = default_counter(30)
    text = (
        "Intro\n=====\n\nSome words about the library and what it does for you today.\n\n"
        "<!-- sponsors\nnames here\n-->\n\n" + "^" * 300 + "\n\nMore words.\n"
    )
    chunks = chunk_document("d", text, small)
    assert_chunk_contract(chunks, text, small, "d")
    for c in chunks:
        body = c.text.split(": ", 1)[-1]
        assert any(ch.isalnum() for ch in body), c.text
