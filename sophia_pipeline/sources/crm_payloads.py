"""CRM JSON payloads as the ``sophia-pipeline chunk --kind crm`` command reads them: bare
HubSpot objects, bundles with their relations, Apollo people, lists of them or a list
endpoint's page, each rendered by its source's module (``hubspot.py``, ``apollo.py``)
with relations resolved by :class:`hubspot.Associations`, the resolver the documents
stage uses too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import apollo, hubspot
from .crm_text import get, properties


def entity_type(record: Any) -> str:
    """ "deal" | "company" | "contact" (HubSpot) or "person" (Apollo), by the record's
    ``objectType``/``type`` when present, else by its fields."""
    declared = str(get(record, "objectType") or get(record, "type") or "").lower()
    for kind in ("deal", "compan", "contact", "person"):
        if declared.startswith(kind):
            return "company" if kind == "compan" else kind
    if isinstance(record, Mapping) and ("first_name" in record or "organization" in record):
        return "person"
    props = properties(record)
    if "dealname" in props or "dealstage" in props:
        return "deal"
    if {"firstname", "lastname", "email", "jobtitle"} & set(props):
        return "contact"
    return "company"


def render_record(record: Any) -> tuple[str, str]:
    """The document id and rendering of one CRM JSON record, either a bare object or a
    bundle with its relations: ``{"deal", "company", "contacts", "stage_history"}``,
    ``{"company", "contacts", "deals"}``, ``{"contact", "company", "deals"}`` or
    ``{"person"}``."""
    if isinstance(record, Mapping) and "deal" in record:
        deal = record["deal"]
        hist = record.get("stage_history")
        history = hubspot.stage_history({"stage_history": hist}) if hist else None
        text = hubspot.render_deal(
            deal, record.get("company"), record.get("contacts") or (), history
        )
        return _doc_id("hubspot", "deal", deal), text
    if isinstance(record, Mapping) and "contact" in record:
        contact = record["contact"]
        text = hubspot.render_contact(contact, record.get("company"), record.get("deals") or ())
        return _doc_id("hubspot", "contact", contact), text
    if isinstance(record, Mapping) and "person" in record:
        person = record["person"]
        return _doc_id("apollo", "person", person), apollo.render_apollo_person(person)
    if (
        isinstance(record, Mapping)
        and isinstance(record.get("company"), Mapping)
        and ("properties" not in record)
    ):
        company = record["company"]
        text = hubspot.render_company(
            company, record.get("contacts") or (), record.get("deals") or ()
        )
        return _doc_id("hubspot", "company", company), text
    kind = entity_type(record)
    if kind == "deal":
        return _doc_id("hubspot", "deal", record), hubspot.render_deal(record)
    if kind == "contact":
        return _doc_id("hubspot", "contact", record), hubspot.render_contact(record)
    if kind == "person":
        return _doc_id("apollo", "person", record), apollo.render_apollo_person(record)
    return _doc_id("hubspot", "company", record), hubspot.render_company(record)


def render_records(payload: Any) -> list[tuple[str, str]]:
    """``render_record`` over a JSON object, a list of them, or a ``{"results": [...]}``
    page as HubSpot's list endpoints return it.

    Bare HubSpot objects in one payload are joined through their ``associations`` (in
    either direction), so a list of deals, companies and contacts renders each deal with
    its company and contacts."""
    if isinstance(payload, str):
        payload = json.loads(payload)
    if isinstance(payload, Mapping) and isinstance(payload.get("results"), list):
        payload = payload["results"]
    if isinstance(payload, Mapping) and isinstance(payload.get("people"), list):
        payload = payload["people"]  # Apollo's search response
    items = payload if isinstance(payload, list) else [payload]
    bare = [i for i in items if isinstance(i, Mapping) and "properties" in i]
    if len(bare) < 2:
        return [render_record(item) for item in items]
    associations = hubspot.Associations(((entity_type(b), b) for b in bare), symmetric=True)
    out: list[tuple[str, str]] = []
    for item in items:
        if not (isinstance(item, Mapping) and "properties" in item):
            out.append(render_record(item))
            continue
        kind = entity_type(item)
        entity = kind if kind in (hubspot.DEAL, hubspot.CONTACT) else hubspot.COMPANY
        out.append((_doc_id("hubspot", kind, item), hubspot.render(entity, item, associations)))
    return out


def _doc_id(source: str, kind: str, obj: Any) -> str:
    return f"{source}:{kind}:{get(obj, 'id', '')}"
