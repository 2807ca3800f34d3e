"""HubSpot CRM: landing record schemas for companies, contacts and deals, and
normalization into CRM documents.

Landing files: ``landing/hubspot/{companies,contacts,deals}/<YYYY-MM-DD>.jsonl``, one
object per line, in the file of the UTC day it was last modified (``updatedAt``): an
incremental sync by ``updatedAt`` lands each change in that day's file, so an object can
appear in several files and the newest ``updatedAt`` wins. Objects have the v3 CRM API
shape (``GET /crm/v3/objects/<type>?associations=...``):

- ``properties``: every value a string or null, as HubSpot returns them; the models parse
  them into numbers, booleans and datetimes ("" counts as null).
- ``associations``: ``{"companies": {"results": [{"id", "type"}]}, "contacts": ...}``.
- ``archived`` / ``archivedAt``: a deleted object; it normalizes with ``deleted=True``.
- Deals carry their stage history in ``propertiesWithHistory.dealstage`` (what
  ``?propertiesWithHistory=dealstage`` returns): newest first, each
  ``{"value", "timestamp", "sourceType", "sourceId"}``.

In prod the same records come from Airbyte's HubSpot source.

Documents keep the structured fields in ``attributes`` (properties, association ids, the
stage history oldest first); rendering CRM entities into text happens downstream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from .documents import Document, DocumentKind

SOURCE = "hubspot"
COMPANY = "company"
CONTACT = "contact"
DEAL = "deal"
# entity -> landing folder under landing/hubspot/
FOLDERS = {COMPANY: "companies", CONTACT: "contacts", DEAL: "deals"}


class _Properties(BaseModel):
    hs_object_id: str | None = None
    createdate: AwareDatetime | None = None
    hs_lastmodifieddate: AwareDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_null(cls, data: Any) -> Any:
        # HubSpot sends "" for a property that was cleared.
        if isinstance(data, dict):
            return {k: (None if v == "" else v) for k, v in data.items()}
        return data


class CompanyProperties(_Properties):
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    numberofemployees: int | None = None
    annualrevenue: float | None = None
    lifecyclestage: str | None = None


class ContactProperties(_Properties):
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    jobtitle: str | None = None
    phone: str | None = None
    associatedcompanyid: str | None = None
    lifecyclestage: str | None = None
    hubspot_owner_id: str | None = None


class DealProperties(_Properties):
    dealname: str | None = None
    dealstage: str | None = None
    pipeline: str | None = None
    amount: float | None = None
    closedate: AwareDatetime | None = None
    hubspot_owner_id: str | None = None
    hs_is_closed: bool | None = None
    hs_is_closed_won: bool | None = None
    dealtype: str | None = None


class AssociationRef(BaseModel):
    id: str
    type: str | None = None


class AssociationList(BaseModel):
    results: list[AssociationRef] = Field(default_factory=list)


class PropertyVersion(BaseModel):
    value: str
    timestamp: AwareDatetime
    sourceType: str | None = None
    sourceId: str | None = None


class _HubSpotObject(BaseModel):
    id: str = Field(min_length=1)
    createdAt: AwareDatetime
    updatedAt: AwareDatetime
    archived: bool = False
    archivedAt: AwareDatetime | None = None
    associations: dict[str, AssociationList] = Field(default_factory=dict)

    def associated(self, kind: str) -> list[str]:
        """Ids of associated objects of ``kind`` ("companies", "contacts", "deals"),
        deduplicated (HubSpot lists one id once per association label), in order."""
        seen: dict[str, None] = {}
        for ref in self.associations.get(kind, AssociationList()).results:
            seen.setdefault(ref.id, None)
        return list(seen)


class HubSpotCompany(_HubSpotObject):
    properties: CompanyProperties


class HubSpotContact(_HubSpotObject):
    properties: ContactProperties

    @property
    def company_id(self) -> str | None:
        companies = self.associated("companies")
        return companies[0] if companies else self.properties.associatedcompanyid


class HubSpotDeal(_HubSpotObject):
    properties: DealProperties
    propertiesWithHistory: dict[str, list[PropertyVersion]] = Field(default_factory=dict)

    @property
    def company_id(self) -> str | None:
        companies = self.associated("companies")
        return companies[0] if companies else None

    def stage_history(self) -> list[PropertyVersion]:
        """Stage changes, oldest first."""
        return sorted(self.propertiesWithHistory.get("dealstage", []), key=lambda v: v.timestamp)


HubSpotRecord = HubSpotCompany | HubSpotContact | HubSpotDeal
RECORD_MODELS: dict[str, type[HubSpotCompany] | type[HubSpotContact] | type[HubSpotDeal]] = {
    COMPANY: HubSpotCompany,
    CONTACT: HubSpotContact,
    DEAL: HubSpotDeal,
}


def parse(entity: str, raw: dict[str, Any]) -> HubSpotRecord:
    """Validates one landing line of ``entity`` ("company" | "contact" | "deal")."""
    return RECORD_MODELS[entity].model_validate(raw)


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def normalize(record: HubSpotRecord) -> Document:
    props = record.properties.model_dump(exclude_none=True)
    attributes: dict[str, object] = {k: _jsonable(v) for k, v in props.items()}
    account_id: str | None
    deal_id: str | None = None
    if isinstance(record, HubSpotCompany):
        entity = COMPANY
        title = record.properties.name
        account_id = record.id
        attributes["contact_ids"] = record.associated("contacts")
        attributes["deal_ids"] = record.associated("deals")
    elif isinstance(record, HubSpotContact):
        entity = CONTACT
        name = " ".join(p for p in (record.properties.firstname, record.properties.lastname) if p)
        title = name or record.properties.email
        account_id = record.company_id
        attributes["company_ids"] = record.associated("companies")
    else:
        entity = DEAL
        title = record.properties.dealname
        account_id = record.company_id
        deal_id = record.id
        attributes["company_ids"] = record.associated("companies")
        attributes["contact_ids"] = record.associated("contacts")
        attributes["stage_history"] = [
            {"stage": v.value, "at": v.timestamp.isoformat()} for v in record.stage_history()
        ]
    if record.archivedAt is not None:
        attributes["archived_at"] = record.archivedAt.isoformat()
    return Document(
        doc_id=Document.make_id(SOURCE, entity, record.id),
        source=SOURCE,
        entity_type=entity,
        source_id=record.id,
        kind=DocumentKind.CRM,
        title=title,
        author=getattr(record.properties, "hubspot_owner_id", None),
        account_id=account_id,
        deal_id=deal_id,
        occurred_at=record.createdAt,
        updated_at=record.updatedAt,
        deleted=record.archived,
        attributes=attributes,
    )
