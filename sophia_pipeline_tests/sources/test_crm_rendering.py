"""CRM renderings: HubSpot's and Apollo's entities as text, with their relations."""

from __future__ import annotations

import json
from typing import Any

from sophia_pipeline.sources.apollo import render_apollo_person
from sophia_pipeline.sources.crm_payloads import render_records
from sophia_pipeline.sources.crm_text import format_amount, format_date
from sophia_pipeline.sources.hubspot import (
    associated_ids,
    render_company,
    render_contact,
    render_deal,
)

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
