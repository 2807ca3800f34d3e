"""CRM renderings cut into chunks, and the chunking dispatch."""

from __future__ import annotations

import pytest

from sophia_pipeline.documents import Document, DocumentKind, render_turns
from sophia_pipeline.processing.chunking.base import TokenCounterLike
from sophia_pipeline.processing.chunking.crm import chunk_crm_entity
from sophia_pipeline.processing.chunking.dispatch import chunk_doc, chunk_for_kind, parse_transcript
from sophia_pipeline.processing.tokens import default_counter
from sophia_pipeline.sources.hubspot import render_deal
from sophia_pipeline_tests.sources.test_crm_rendering import COMPANY, CONTACT, DEAL

from .test_chunk_properties import assert_chunk_contract


@pytest.fixture(scope="module")
def counter() -> TokenCounterLike:
    return default_counter()


def test_fitting_entity_is_one_chunk(counter: TokenCounterLike) -> None:
    text = render_deal(DEAL, COMPANY, [CONTACT])
    chunks = chunk_crm_entity("hubspot:deal:42", text, counter)
    assert len(chunks) == 1
    assert chunks[0].text == text.strip()
    assert chunks[0].label == "Deal: Acme renewal (deal 42)"
    assert_chunk_contract(chunks, text, counter)


def test_oversized_entity_repeats_its_header(counter: TokenCounterLike) -> None:
    contacts = [
        {
            "id": str(i),
            "properties": {
                "firstname": f"Person{i}",
                "lastname": "Example",
                "jobtitle": "Director of Revenue Operations",
                "email": f"person{i}@acme.com",
            },
        }
        for i in range(60)
    ]
    deal = {**DEAL, "properties": {**DEAL["properties"], "description": "Long notes. " * 300}}
    text = render_deal(deal, COMPANY, contacts)
    chunks = chunk_crm_entity("hubspot:deal:42", text, counter)
    assert len(chunks) > 3
    assert_chunk_contract(chunks, text, counter)
    for c in chunks:
        assert c.text.startswith("Deal: Acme renewal (deal 42)")
    # Whole lines: each contact sits in exactly one chunk.
    for i in range(60):
        assert sum(f"Person{i} Example" in c.text for c in chunks) == 1


def test_parse_transcript() -> None:
    turns = parse_transcript(
        "[00:01:05] Alice: Hello there\nit continues here\n\n12:30 Bob Smith: Yes: indeed\n"
    )
    assert [(t.speaker, t.text, t.start_s) for t in turns] == [
        ("Alice", "Hello there it continues here", 65.0),
        ("Bob Smith", "Yes: indeed", 750.0),
    ]
    assert render_turns(turns)[0] == (
        "Alice: Hello there it continues here\nBob Smith: Yes: indeed\n"
    )


def test_chunk_for_kind_and_documents(counter: TokenCounterLike) -> None:
    chunks = chunk_for_kind(
        "code", "c", "def f():\n    pass\n", counter, path="x.py", unrelated="ignored"
    )
    assert [c.label for c in chunks] == ["f"]
    # Without a path or language, the extension ending the document id names it.
    chunks = chunk_for_kind("code", "github:file:org/repo/app.py", "def g():\n    pass\n", counter)
    assert [c.label for c in chunks] == ["g"]
    doc = Document(
        doc_id="linear:issue:1",
        source="linear",
        entity_type="issue",
        source_id="1",
        kind=DocumentKind.DOCUMENT,
        title="ENG-1 Login fails",
        text="## Steps\nClick.\n",
        occurred_at="2024-01-01T00:00:00Z",
    )
    assert [c.text for c in chunk_doc(doc, counter)] == ["ENG-1 Login fails > Steps: Click."]
