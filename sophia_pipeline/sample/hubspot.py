"""Sample HubSpot CRM objects, shaped like the v3 objects API with associations and
``propertiesWithHistory`` for the deal stage: ``hubspot/{companies,contacts,deals}/<day>.jsonl``
by last modification."""

from __future__ import annotations

import random
from datetime import datetime

from .base import SampleRun, SampleSource
from .common import iso_ms, write_jsonl_by_day
from .world import Company, Contact, Deal, World

Records = list[tuple[datetime, str, dict]]


def _assoc(kind: str, link: str, ids: list[str]) -> dict:
    return {kind: {"results": [{"id": i, "type": link} for i in ids]}}


def _envelope(
    object_id: str,
    properties: dict[str, str | None],
    created: datetime,
    updated: datetime,
    archived_at: datetime | None,
    associations: dict,
) -> dict:
    record: dict = {
        "id": object_id,
        "properties": {
            **properties,
            "hs_object_id": object_id,
            "createdate": iso_ms(created),
            "hs_lastmodifieddate": iso_ms(updated),
        },
        "createdAt": iso_ms(created),
        "updatedAt": iso_ms(updated),
        "archived": archived_at is not None,
        "associations": associations,
    }
    if archived_at is not None:
        record["archivedAt"] = iso_ms(archived_at)
    return record


def company_record(c: Company, lifecycle: str) -> dict:
    # HubSpot returns every property value as a string (or null).
    props: dict[str, str | None] = {
        "name": c.name,
        "domain": c.domain,
        "industry": c.industry,
        "city": c.city,
        "state": c.state,
        "country": "United States",
        "numberofemployees": str(c.employees),
        "annualrevenue": str(c.annual_revenue),
        "lifecyclestage": lifecycle,
    }
    assoc = {
        **_assoc("contacts", "company_to_contact", c.contact_ids),
        **_assoc("deals", "company_to_deal", c.deal_ids),
    }
    return _envelope(c.id, props, c.created, c.updated, c.archived_at, assoc)


def contact_record(c: Contact, owner_id: str | None) -> dict:
    props: dict[str, str | None] = {
        "firstname": c.first,
        "lastname": c.last,
        "email": c.email,
        "jobtitle": c.title,
        "phone": c.phone,
        "associatedcompanyid": c.company_id,
        "lifecyclestage": "salesqualifiedlead",
        "hubspot_owner_id": owner_id,
    }
    assoc = _assoc("companies", "contact_to_company", [c.company_id])
    return _envelope(c.id, props, c.created, c.updated, c.archived_at, assoc)


def deal_record(rng: random.Random, d: Deal) -> dict:
    props: dict[str, str | None] = {
        "dealname": d.name,
        "dealstage": d.stage,
        "pipeline": "default",
        "amount": f"{d.amount}",
        "closedate": iso_ms(d.closedate),
        "hubspot_owner_id": d.owner.owner_id,
        "hs_is_closed": "true" if d.is_closed else "false",
        "hs_is_closed_won": "true" if d.stage == "closedwon" else "false",
        "dealtype": rng.choice(["newbusiness", "newbusiness", "existingbusiness"]),
    }
    assoc = {
        **_assoc("companies", "deal_to_company", [d.company_id]),
        **_assoc("contacts", "deal_to_contact", d.contact_ids),
    }
    record = _envelope(d.id, props, d.created, d.updated, d.archived_at, assoc)
    # As the API returns it with ?propertiesWithHistory=dealstage: newest first.
    record["propertiesWithHistory"] = {
        "dealstage": [
            {
                "value": stage,
                "timestamp": iso_ms(at),
                "sourceType": "CRM_UI",
                "sourceId": f"userId:{d.owner.owner_id}",
            }
            for stage, at in reversed(d.history)
        ]
    }
    return record


def hubspot_records(rng: random.Random, world: World) -> dict[str, Records]:
    """Records per entity folder, each keyed by its last modification: an incremental sync
    by ``updatedAt`` lands an object in the file of the day it last changed."""
    owner_of: dict[str, str] = {}
    for d in world.deals:
        for cid in d.contact_ids:
            owner_of.setdefault(cid, d.owner.owner_id)
    won = {d.company_id for d in world.deals if d.stage == "closedwon"}

    def lifecycle(c: Company) -> str:
        if c.id in won:
            return "customer"
        return "opportunity" if c.deal_ids else "lead"

    return {
        "companies": [(c.updated, c.id, company_record(c, lifecycle(c))) for c in world.companies],
        "contacts": [
            (c.updated, c.id, contact_record(c, owner_of.get(c.id))) for c in world.contacts
        ],
        "deals": [(d.updated, d.id, deal_record(rng, d)) for d in world.deals],
    }


def write_sample(run: SampleRun) -> dict[str, int]:
    return {
        f"hubspot/{entity}": write_jsonl_by_day(run.landing_dir / "hubspot" / entity, rows)
        for entity, rows in hubspot_records(run.rng("hubspot"), run.world).items()
    }


SAMPLE = SampleSource(
    order=20,  # after Gong, which archives some deals
    folders=("hubspot/companies", "hubspot/contacts", "hubspot/deals"),
    write=write_sample,
)
