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

In prod the same records come from Airbyte's HubSpot source (:func:`hubspot_object_from_airbyte`
maps its flattened shape onto this one) or from the search API.

Documents keep the structured fields in ``attributes`` (properties, association ids, the
stage history oldest first); their text is the entity rendered with its relations (a deal
with its company, contacts and stage history: :func:`render`), the relations found by the
one association resolver, :class:`Associations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from sophia_pipeline.documents import DEAL_STAGE_OUTCOMES, Document, DocumentKind

from .crm_text import (
    clean,
    format_amount,
    format_date,
    get,
    join,
    lines,
    person_name,
    prop,
    summarize_company,
    summarize_contact,
)

SOURCE = "hubspot"
COMPANY = "company"
CONTACT = "contact"
DEAL = "deal"
# entity -> landing folder under landing/hubspot/
FOLDERS = {COMPANY: "companies", CONTACT: "contacts", DEAL: "deals"}
# entity -> its name as an association kind (the same plural names as the folders)
ASSOCIATION_KINDS = FOLDERS


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


# --- Airbyte's shape -> the landing shape (pure, idempotent) ------------------------------


def hubspot_object_from_airbyte(record: dict[str, Any]) -> dict[str, Any]:
    """Airbyte's HubSpot streams flatten properties (``properties_<name>``) and list
    associated ids at the top level (``companies: ["1"]``); the landing shape keeps
    ``properties`` and the v3 ``associations`` object."""
    kinds = ("companies", "contacts", "deals")
    if not any(isinstance(record.get(k), list) for k in kinds) and not any(
        k.startswith("properties_") for k in record
    ):
        return record
    out = {k: v for k, v in record.items() if not k.startswith("properties_") and k not in kinds}
    associations = dict(record.get("associations") or {})
    for kind in kinds:
        ids = record.get(kind)
        if isinstance(ids, list) and kind not in associations:
            associations[kind] = {"results": [{"id": str(i)} for i in ids]}
    if associations:
        out["associations"] = associations
    return out


# --- associations -------------------------------------------------------------------------


def associated_ids(obj: Any, kind: str) -> list[str]:
    """Ids of ``obj``'s associated objects of ``kind`` ("companies", "contacts",
    "deals"), from the v3 ``{"results": [{"id": ...}]}`` shape, a plain list of ids or
    of objects with an ``id``/``toObjectId``; each id once (HubSpot lists an id once per
    association label), in order."""
    assoc = get(obj, "associations") or {}
    group = assoc.get(kind) if isinstance(assoc, Mapping) else None
    if group is None:
        return []
    items = group.get("results", []) if isinstance(group, Mapping) else group
    out: list[str] = []
    for item in items or []:
        value = (
            item if isinstance(item, str | int) else (get(item, "id") or get(item, "toObjectId"))
        )
        if value is not None and str(value) not in out:
            out.append(str(value))
    return out


class Associations:
    """HubSpot objects by entity and id, and which of them each object is associated
    with: the one resolver of HubSpot relations.

    The documents stage builds it over every object's newest version and follows each
    object's own associations, in the order HubSpot lists them (it lists a link on both
    sides). ``symmetric=True`` also follows links that only the other side lists, in id
    order (links gathered from both sides have no one listed order): the ``chunk``
    command's hand-made payloads often list a link once.
    """

    def __init__(
        self, objects: Iterable[tuple[str, Mapping[str, Any]]], *, symmetric: bool = False
    ) -> None:
        self._by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
        for entity, obj in objects:
            self._by_key[(entity, str(get(obj, "id")))] = obj
        # (entity, id) -> other entity -> ids of the objects that list it
        self._listed_by: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._symmetric = symmetric
        if symmetric:
            for (entity, oid), obj in self._by_key.items():
                for other, kind in ASSOCIATION_KINDS.items():
                    for rid in associated_ids(obj, kind):
                        by = self._listed_by.setdefault((other, rid), {}).setdefault(entity, [])
                        if oid not in by:
                            by.append(oid)

    def related(self, entity: str, obj: Mapping[str, Any], other: str) -> list[Mapping[str, Any]]:
        """The known objects of entity ``other`` that ``obj`` (of ``entity``) is
        associated with."""
        ids = associated_ids(obj, ASSOCIATION_KINDS[other])
        if self._symmetric:
            back = self._listed_by.get((entity, str(get(obj, "id"))), {}).get(other, [])
            ids = sorted(set(ids) | set(back))
        return [self._by_key[(other, i)] for i in ids if (other, i) in self._by_key]


# --- rendering ------------------------------------------------------------------------------

# Labels of HubSpot's default sales pipeline; custom stages render as their raw id.
HUBSPOT_STAGE_LABELS: dict[str, str] = {
    "appointmentscheduled": "Appointment scheduled",
    "qualifiedtobuy": "Qualified to buy",
    "presentationscheduled": "Presentation scheduled",
    "decisionmakerboughtin": "Decision maker bought-in",
    "contractsent": "Contract sent",
    "closedwon": "Closed won",
    "closedlost": "Closed lost",
}


def stage_label(stage: Any, detail: bool = True) -> str | None:
    """ "Contract sent (contractsent; outcome: negotiation)": the label people say, the id
    the API says and the outcome category, so either wording finds the deal."""
    if stage in (None, ""):
        return None
    key = str(stage).strip()
    label = HUBSPOT_STAGE_LABELS.get(key.lower())
    outcome = DEAL_STAGE_OUTCOMES.get(key.lower())
    if label and outcome and detail:
        return f"{label} ({key}; outcome: {outcome})"
    return label or clean(key)


def stage_history(deal: Any) -> list[tuple[str | None, str]]:
    """(date, stage) changes of a deal, oldest first, from HubSpot's
    ``propertiesWithHistory.dealstage`` (newest first there) or a ``stage_history``
    list of ``{"stage"|"value", "timestamp"|"date"}``."""
    raw = get(get(deal, "propertiesWithHistory") or {}, "dealstage")
    if raw is None:
        raw = get(deal, "stage_history") or []
    entries: list[tuple[str, str | None, str]] = []
    for item in raw:
        stage = get(item, "value") or get(item, "stage")
        if stage in (None, ""):
            continue
        when = get(item, "timestamp") or get(item, "date") or get(item, "changed_at")
        entries.append((str(when or ""), format_date(when), str(stage)))
    entries.sort(key=lambda e: e[0])
    return [(date, stage) for _, date, stage in entries]


def summarize_deal(deal: Any) -> str | None:
    if deal is None:
        return None
    name = prop(deal, "dealname")
    return (
        join(
            [
                name,
                stage_label(prop(deal, "dealstage")),
                format_amount(prop(deal, "amount"), prop(deal, "deal_currency_code")),
                f"closes {format_date(prop(deal, 'closedate'))}"
                if prop(deal, "closedate")
                else None,
            ]
        )
        or None
    )


def render_deal(
    deal: Any,
    company: Any = None,
    contacts: Sequence[Any] = (),
    history: Sequence[tuple[str | None, str]] | None = None,
) -> str:
    """A HubSpot deal with its company, contacts and stage history (``history``
    defaults to what the deal itself carries, see ``stage_history``)."""
    deal_id = get(deal, "id")
    name = prop(deal, "dealname") or f"deal {deal_id}"
    changes = stage_history(deal) if history is None else list(history)
    return lines(
        f"Deal: {name}" + (f" (deal {deal_id})" if deal_id is not None else ""),
        [
            ("Company", summarize_company(company)),
            ("Stage", stage_label(prop(deal, "dealstage"))),
            ("Amount", format_amount(prop(deal, "amount"), prop(deal, "deal_currency_code"))),
            ("Pipeline", prop(deal, "pipeline")),
            ("Close date", format_date(prop(deal, "closedate"))),
            ("Created", format_date(prop(deal, "createdate"))),
            ("Last modified", format_date(prop(deal, "hs_lastmodifieddate"))),
            ("Owner", prop(deal, "hubspot_owner_id")),
            ("Deal type", prop(deal, "dealtype")),
            ("Contacts", [summarize_contact(c) for c in contacts]),
            ("Stage history", [join([d, stage_label(s, detail=False)], " ") for d, s in changes]),
            ("Description", prop(deal, "description")),
        ],
    )


def render_company(company: Any, contacts: Sequence[Any] = (), deals: Sequence[Any] = ()) -> str:
    """A HubSpot company with its contacts and deals."""
    company_id = get(company, "id")
    name = prop(company, "name") or prop(company, "domain") or f"company {company_id}"
    return lines(
        f"Company: {name}" + (f" (company {company_id})" if company_id else ""),
        [
            ("Domain", prop(company, "domain")),
            ("Industry", prop(company, "industry")),
            ("Employees", prop(company, "numberofemployees")),
            ("Annual revenue", format_amount(prop(company, "annualrevenue"))),
            (
                "Location",
                join([prop(company, "city"), prop(company, "state"), prop(company, "country")]),
            ),
            ("Lifecycle stage", prop(company, "lifecyclestage")),
            ("Contacts", [summarize_contact(c) for c in contacts]),
            ("Deals", [summarize_deal(d) for d in deals]),
            ("Description", prop(company, "description")),
        ],
    )


def render_contact(contact: Any, company: Any = None, deals: Sequence[Any] = ()) -> str:
    """A HubSpot contact with their company and deals."""
    contact_id = get(contact, "id")
    name = person_name(contact) or prop(contact, "email") or f"contact {contact_id}"
    return lines(
        f"Contact: {name}" + (f" (contact {contact_id})" if contact_id else ""),
        [
            ("Title", prop(contact, "jobtitle")),
            ("Email", prop(contact, "email")),
            ("Company", summarize_company(company) or prop(contact, "company")),
            ("Lifecycle stage", prop(contact, "lifecyclestage")),
            ("Lead status", prop(contact, "hs_lead_status")),
            ("Last modified", format_date(prop(contact, "lastmodifieddate"))),
            ("Deals", [summarize_deal(d) for d in deals]),
        ],
    )


def render(entity: str, obj: Mapping[str, Any], associations: Associations) -> str:
    """``obj`` (a landing-shaped object of ``entity``) rendered with the relations
    ``associations`` resolves: a deal with its company, contacts and stage history; a
    company with its contacts and deals; a contact with their company and deals."""
    if entity == DEAL:
        companies = associations.related(DEAL, obj, COMPANY)
        return render_deal(
            obj, companies[0] if companies else None, associations.related(DEAL, obj, CONTACT)
        )
    if entity == COMPANY:
        return render_company(
            obj,
            associations.related(COMPANY, obj, CONTACT),
            associations.related(COMPANY, obj, DEAL),
        )
    companies = associations.related(CONTACT, obj, COMPANY)
    return render_contact(
        obj, companies[0] if companies else None, associations.related(CONTACT, obj, DEAL)
    )
