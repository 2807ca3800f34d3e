"""Apollo.io: person record schema and normalization into CRM documents.

Landing file: ``landing/apollo/contacts/<YYYY-MM-DD>.jsonl``, one person per line in the
file of the UTC day of its ``updated_at`` (the delta cursor; polling re-reads an overlap
window, so a person can appear more than once, the newest ``updated_at`` wins). Records
have the shape of Apollo's people search / enrichment API: ``id``, names, ``title``,
``email``, ``organization`` {``id``, ``name``, ``primary_domain``, ``industry``,
``estimated_num_employees``}, timestamps like ``2024-05-01T12:00:00.000+00:00``.

Apollo knows nothing of HubSpot ids: ``account_id`` stays empty and the organization's
``primary_domain`` (in ``attributes``) is the key that joins a person to a HubSpot company.
A person's document text is :func:`render_apollo_person`.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from sophia_pipeline.documents import Document, DocumentKind

from .crm_text import format_date, get, join, lines, person_name, summarize_company

SOURCE = "apollo"
ENTITY = "person"


class ApolloOrganization(BaseModel):
    id: str
    name: str
    website_url: str | None = None
    primary_domain: str | None = None
    industry: str | None = None
    estimated_num_employees: int | None = None
    founded_year: int | None = None


class ApolloPerson(BaseModel):
    id: str = Field(min_length=1)
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    title: str | None = None
    seniority: str | None = None
    departments: list[str] = Field(default_factory=list)
    email: str | None = None
    email_status: str | None = None
    linkedin_url: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    organization_id: str | None = None
    organization: ApolloOrganization | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime

    @property
    def full_name(self) -> str:
        return self.name or " ".join(p for p in (self.first_name, self.last_name) if p)


def parse(raw: dict[str, Any]) -> ApolloPerson:
    return ApolloPerson.model_validate(raw)


def normalize(person: ApolloPerson) -> Document:
    attributes = person.model_dump(mode="json", exclude={"organization"}, exclude_none=True)
    org = person.organization
    if org is not None:
        attributes["organization"] = org.model_dump(mode="json", exclude_none=True)
        attributes["company_domain"] = org.primary_domain
        attributes["company_name"] = org.name
    return Document(
        doc_id=Document.make_id(SOURCE, ENTITY, person.id),
        source=SOURCE,
        entity_type=ENTITY,
        source_id=person.id,
        kind=DocumentKind.CRM,
        title=person.full_name or person.email,
        occurred_at=person.created_at or person.updated_at,
        updated_at=person.updated_at,
        attributes=attributes,
    )


def render_apollo_person(person: Any) -> str:
    """An Apollo person with their organization."""
    person_id = get(person, "id")
    org = get(person, "organization")
    name = person_name(person) or get(person, "email") or f"person {person_id}"
    title = get(person, "title")
    org_name = get(org, "name") or get(person, "organization_name")
    role = join([title, f"at {org_name}" if org_name else None], " ")
    departments = get(person, "departments") or []
    return lines(
        f"Contact: {name}"
        + (f", {role}" if role else "")
        + (f" (Apollo person {person_id})" if person_id else ""),
        [
            ("Email", get(person, "email")),
            ("Seniority", get(person, "seniority")),
            ("Departments", join(str(d) for d in departments) if departments else None),
            (
                "Location",
                join([get(person, "city"), get(person, "state"), get(person, "country")]),
            ),
            ("Organization", summarize_company(org)),
            ("LinkedIn", get(person, "linkedin_url")),
            ("Updated", format_date(get(person, "updated_at"))),
        ],
    )
