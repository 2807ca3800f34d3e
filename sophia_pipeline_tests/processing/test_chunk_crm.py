"""CRM renderings and their chunks, and the file-level dispatch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sophia_pipeline.processing.chunking.base import TokenCounterLike
from sophia_pipeline.processing.chunking.crm import (
    associated_ids,
    chunk_crm_entity,
    format_amount,
    format_date,
    render_apollo_person,
    render_company,
    render_contact,
    render_deal,
    render_records,
)
from sophia_pipeline.processing.chunking.dispatch import (
    chunk_doc,
    chunk_file,
    chunk_for_kind,
    parse_transcript,
)
from sophia_pipeline.processing.tokens import default_counter
from sophia_pipeline.sources.documents import Document, DocumentKind, render_turns

from .test_chunk_properties import assert_chunk_contract


@pytest.fixture(scope="module")
def counter() -> TokenCounterLike:
    return default_counter()


DEAL: dict[str, Any] = {
    "id": "42",
    "properties": {
        "dealname": "Acme renewal",
        "dealstage": "contractsent",
        "amount": "48000",
        "deal_currency_code": "USD",
        "closedate": "2024-05-01T00:00:00Z",
        "createdate": "1704844800000",
        "pipeline": "default",
    },
    "propertiesWithHistory": {
        "dealstage": [
            {"value": "contractsent", "timestamp": "2024-03-01T10:00:00Z"},
            {"value": "appointmentscheduled", "timestamp": "2024-01-10T10:00:00Z"},
        ]
    },
    "associations": {
        "companies": {"results": [{"id": "7", "type": "deal_to_company"}]},
        "contacts": {"results": [{"id": "9", "type": "deal_to_contact"}]},
    },
}
COMPANY: dict[str, Any] = {
    "id": "7",
    "properties": {
        "name": "Acme Corp",
        "domain": "acme.com",
        "industry": "Software",
        "numberofemployees": "250",
        "city": "Austin",
        "country": "US",
    },
}
CONTACT: dict[str, Any] = {
    "id": "9",
    "properties": {
        "firstname": "Jane",
        "lastname": "Doe",
        "jobtitle": "VP Sales",
        "email": "jane@acme.com",
    },
}
PERSON: dict[str, Any] = {
    "id": "p1",
    "first_name": "Sam",
    "last_name": "Lee",
    "title": "CTO",
    "email": "sam@x.io",
    "organization": {"name": "Xco", "website_url": "x.io", "estimated_num_employees": 40},
    "updated_at": "2024-02-02T08:00:00Z",
}


def test_deal_rendering_holds_its_relations() -> None:
    text = render_deal(DEAL, COMPANY, [CONTACT])
    assert text == (
        "Deal: Acme renewal (deal 42)\n"
        "Company: Acme Corp (acme.com), Software, 250 employees, Austin, US\n"
        "Stage: Contract sent (contractsent; outcome: negotiation)\n"
        "Amount: 48,000 USD\n"
        "Pipeline: default\n"
        "Close date: 2024-05-01\n"
        "Created: 2024-01-10\n"
        "Contacts:\n"
        "- Jane Doe, VP Sales, jane@acme.com\n"
        "Stage history:\n"
        "- 2024-01-10 Appointment scheduled\n"
        "- 2024-03-01 Contract sent\n"
    )


def test_company_contact_and_person_renderings() -> None:
    company = render_company(COMPANY, [CONTACT], [DEAL])
    assert company.startswith("Company: Acme Corp (company 7)\n")
    assert (
        "- Acme renewal, Contract sent (contractsent; outcome: negotiation), 48,000 USD, "
        "closes 2024-05-01" in company
    )
    contact = render_contact(CONTACT, COMPANY)
    assert contact.splitlines()[:3] == [
        "Contact: Jane Doe (contact 9)",
        "Title: VP Sales",
        "Email: jane@acme.com",
    ]
    person = render_apollo_person(PERSON)
    assert person == (
        "Contact: Sam Lee, CTO at Xco (Apollo person p1)\n"
        "Email: sam@x.io\n"
        "Organization: Xco (x.io), 40 employees\n"
        "Updated: 2024-02-02\n"
    )


def test_attribute_objects_render_like_dicts() -> None:
    class Person:
        id = "p2"
        first_name = "Ana"
        last_name = "Ruiz"
        title = None
        email = "ana@y.io"
        organization = None
        updated_at = None

    assert render_apollo_person(Person()) == (
        "Contact: Ana Ruiz (Apollo person p2)\nEmail: ana@y.io\n"
    )


def test_small_helpers() -> None:
    assert associated_ids(DEAL, "contacts") == ["9"]
    assert associated_ids({"associations": {"deals": ["1", 2]}}, "deals") == ["1", "2"]
    assert associated_ids({}, "deals") == []
    assert format_date("1704844800000") == "2024-01-10"
    assert format_date("not a date") == "not a date"
    assert format_amount("1234.5", "EUR") == "1,234.50 EUR"


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


def test_render_records_joins_a_payload_through_associations() -> None:
    rendered = dict(render_records({"results": [DEAL, COMPANY, CONTACT, PERSON]}))
    assert set(rendered) == {
        "hubspot:deal:42",
        "hubspot:company:7",
        "hubspot:contact:9",
        "apollo:person:p1",
    }
    assert "Company: Acme Corp (acme.com)" in rendered["hubspot:deal:42"]
    assert "- Jane Doe, VP Sales" in rendered["hubspot:deal:42"]
    # The reverse direction: the company and the contact know the deal.
    assert "- Acme renewal" in rendered["hubspot:company:7"]
    assert "- Acme renewal" in rendered["hubspot:contact:9"]
    # No transitive guess: the contact has no company association of its own.
    assert "Company:" not in rendered["hubspot:contact:9"]
    linked = {**CONTACT, "associations": {"companies": {"results": [{"id": "7"}]}}}
    rendered = dict(render_records([COMPANY, linked]))
    assert "Company: Acme Corp (acme.com)" in rendered["hubspot:contact:9"]
    assert "- Jane Doe, VP Sales" in rendered["hubspot:company:7"]


def test_render_records_accepts_bundles() -> None:
    bundle = {
        "deal": DEAL,
        "company": COMPANY,
        "contacts": [CONTACT],
        "stage_history": [{"stage": "closedwon", "date": "2024-06-01"}],
    }
    [(doc_id, text)] = render_records(json.dumps(bundle))
    assert doc_id == "hubspot:deal:42"
    assert "Stage history:\n- 2024-06-01 Closed won\n" in text


def test_chunk_file_for_every_kind(tmp_path: Path, counter: TokenCounterLike) -> None:
    crm = tmp_path / "crm.json"
    crm.write_text(json.dumps([DEAL, COMPANY, CONTACT]), encoding="utf-8")
    rows = chunk_file("crm", crm, counter)
    assert [r["doc"] for r in rows] == ["hubspot:deal:42", "hubspot:company:7", "hubspot:contact:9"]
    assert set(rows[0]) == {"doc", "ordinal", "start", "end", "tokens", "text"}
    json.dumps(rows)

    call = tmp_path / "call.txt"
    call.write_text(
        "Alice: Hi there.\nBob: Hello! We use Gong.\n\nAlice: Great.\n", encoding="utf-8"
    )
    rows = chunk_file(DocumentKind.CONVERSATION, call, counter)
    assert [r["text"] for r in rows] == [
        "Alice: Hi there.",
        "Bob: Hello! We use Gong.",
        "Alice: Great.",
    ]
    assert {r["doc"] for r in rows} == {str(call)}

    page = tmp_path / "page.html"
    page.write_text("<h1>Pricing</h1><p>Call us.</p>", encoding="utf-8")
    assert [r["text"] for r in chunk_file("document", page, counter)] == ["Pricing: Call us."]

    src = tmp_path / "m.py"
    src.write_text("import os\n\n\ndef f():\n    return 1\n", encoding="utf-8")
    assert [r["text"] for r in chunk_file("code", src, counter)] == [
        "import os",
        "def f():\n    return 1",
    ]
    with pytest.raises(ValueError):
        chunk_file("spreadsheet", src, counter)


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


def test_renderings_do_not_name_hubspot_itself() -> None:
    # Regression: "(HubSpot deal 42)" in every rendering read as a mention of the
    # competitor HubSpot, 214 false mentions on the sample set.
    from sophia_pipeline.processing.tagging.competitors import CompetitorMatcher

    deal = {"id": "42", "properties": {"dealname": "Acme renewal", "dealstage": "closedwon"}}
    company = {"id": "7", "properties": {"name": "Acme Corp"}}
    contact = {"id": "9", "properties": {"firstname": "Jane", "lastname": "Doe"}}
    texts = [
        render_deal(deal, company, [contact]),
        render_company(company, [contact], [deal]),
        render_contact(contact, company, [deal]),
    ]
    assert all(CompetitorMatcher().find(t) == [] for t in texts)
