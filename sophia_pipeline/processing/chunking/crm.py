"""CRM entities rendered as readable text, one chunk (group) per deal, company or contact.

A HubSpot object is ``{"id", "properties": {...}, "associations": ...,
"propertiesWithHistory": ...}``; an Apollo person is ``{"id", "first_name", "last_name",
"title", "email", "organization": {...}, "updated_at"}``. Objects with attributes instead
of keys (pydantic models, dataclasses) work too.

The renderings put the entity's header on the first line ("Deal: Acme renewal (HubSpot
deal 42)") and one fact per line after it, related entities included (a deal's company,
contacts and stage history), so that a search for "Acme contract sent" finds the deal
without a join. ``chunk_crm_entity`` keeps a rendering whole when it fits the budget and
otherwise cuts it between lines, repeating the header on every continuation piece.
Chunk offsets point into the rendered text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sophia_pipeline.processing.tagging.catalog import DEAL_STAGE_OUTCOMES

from .base import Chunk, TokenCounterLike, pack_spans

# The repeated header may take at most this share of the budget.
HEADER_SHARE = 3

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

_WS = re.compile(r"\s+")


# --- reading records ----------------------------------------------------------------


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def properties(obj: Any) -> Mapping[str, Any]:
    """A HubSpot object's ``properties`` (or the object itself when it is flat)."""
    props = _get(obj, "properties")
    if isinstance(props, Mapping):
        return props
    return obj if isinstance(obj, Mapping) else {}


def _prop(obj: Any, *keys: str) -> Any:
    props = properties(obj)
    for key in keys:
        value = props.get(key)
        if value not in (None, ""):
            return value
    return None


def associated_ids(obj: Any, kind: str) -> list[str]:
    """Ids of ``obj``'s associated objects of ``kind`` ("companies", "contacts",
    "deals"), from the v3 ``{"results": [{"id": ...}]}`` shape, a plain list of ids or
    of objects with an ``id``/``toObjectId``."""
    assoc = _get(obj, "associations") or {}
    group = assoc.get(kind) if isinstance(assoc, Mapping) else None
    if group is None:
        return []
    items = group.get("results", []) if isinstance(group, Mapping) else group
    out: list[str] = []
    for item in items or []:
        value = (
            item if isinstance(item, str | int) else (_get(item, "id") or _get(item, "toObjectId"))
        )
        if value is not None and str(value) not in out:
            out.append(str(value))
    return out


def _clean(value: Any) -> str:
    return _WS.sub(" ", str(value)).strip()


def format_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` from an ISO timestamp, a datetime or epoch milliseconds (HubSpot's
    older APIs); the raw value when it is none of those."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    text = str(value).strip()
    if text.isdigit() and len(text) >= 11:
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date().isoformat()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return _clean(text)


def format_amount(value: Any, currency: Any = None) -> str | None:
    if value in (None, ""):
        return None
    try:
        amount = float(str(value).replace(",", ""))
    except ValueError:
        return _clean(value)
    text = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


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
    return label or _clean(key)


def stage_history(deal: Any) -> list[tuple[str | None, str]]:
    """(date, stage) changes of a deal, oldest first, from HubSpot's
    ``propertiesWithHistory.dealstage`` (newest first there) or a ``stage_history``
    list of ``{"stage"|"value", "timestamp"|"date"}``."""
    raw = _get(_get(deal, "propertiesWithHistory") or {}, "dealstage")
    if raw is None:
        raw = _get(deal, "stage_history") or []
    entries: list[tuple[str, str | None, str]] = []
    for item in raw:
        stage = _get(item, "value") or _get(item, "stage")
        if stage in (None, ""):
            continue
        when = _get(item, "timestamp") or _get(item, "date") or _get(item, "changed_at")
        entries.append((str(when or ""), format_date(when), str(stage)))
    entries.sort(key=lambda e: e[0])
    return [(date, stage) for _, date, stage in entries]


def _join(parts: Iterable[str | None], sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _lines(header: str, fields: Sequence[tuple[str, Any]]) -> str:
    out = [_clean(header)]
    for name, value in fields:
        if isinstance(value, list):
            items = [_clean(v) for v in value if v]
            if items:
                out.append(f"{name}:")
                out.extend(f"- {v}" for v in items)
        elif value not in (None, ""):
            out.append(f"{name}: {_clean(value)}")
    return "\n".join(out) + "\n"


# --- one-line summaries of related entities -----------------------------------------


def person_name(contact: Any) -> str | None:
    first = _prop(contact, "firstname", "first_name") or _get(contact, "first_name")
    last = _prop(contact, "lastname", "last_name") or _get(contact, "last_name")
    name = _join([first, last], " ") or _prop(contact, "name") or _get(contact, "name")
    return _clean(name) if name else None


def summarize_company(company: Any) -> str | None:
    if company is None:
        return None
    name = _prop(company, "name") or _get(company, "name")
    domain = (
        _prop(company, "domain", "website")
        or _get(company, "primary_domain")
        or _get(company, "website_url")
    )
    employees = _prop(company, "numberofemployees") or _get(company, "estimated_num_employees")
    location = _join(
        [
            _prop(company, "city") or _get(company, "city"),
            _prop(company, "state") or _get(company, "state"),
            _prop(company, "country") or _get(company, "country"),
        ]
    )
    return (
        _join(
            [
                f"{name} ({domain})" if name and domain else (name or domain),
                _prop(company, "industry") or _get(company, "industry"),
                f"{employees} employees" if employees else None,
                location,
            ]
        )
        or None
    )


def summarize_contact(contact: Any) -> str | None:
    if contact is None:
        return None
    return (
        _join(
            [
                person_name(contact),
                _prop(contact, "jobtitle", "title") or _get(contact, "title"),
                _prop(contact, "email") or _get(contact, "email"),
            ]
        )
        or None
    )


def summarize_deal(deal: Any) -> str | None:
    if deal is None:
        return None
    name = _prop(deal, "dealname")
    return (
        _join(
            [
                name,
                stage_label(_prop(deal, "dealstage")),
                format_amount(_prop(deal, "amount"), _prop(deal, "deal_currency_code")),
                f"closes {format_date(_prop(deal, 'closedate'))}"
                if _prop(deal, "closedate")
                else None,
            ]
        )
        or None
    )


# --- renderings ---------------------------------------------------------------------


def render_deal(
    deal: Any,
    company: Any = None,
    contacts: Sequence[Any] = (),
    history: Sequence[tuple[str | None, str]] | None = None,
) -> str:
    """A HubSpot deal with its company, contacts and stage history (``history``
    defaults to what the deal itself carries, see ``stage_history``)."""
    deal_id = _get(deal, "id")
    name = _prop(deal, "dealname") or f"deal {deal_id}"
    changes = stage_history(deal) if history is None else list(history)
    return _lines(
        f"Deal: {name}" + (f" (deal {deal_id})" if deal_id is not None else ""),
        [
            ("Company", summarize_company(company)),
            ("Stage", stage_label(_prop(deal, "dealstage"))),
            ("Amount", format_amount(_prop(deal, "amount"), _prop(deal, "deal_currency_code"))),
            ("Pipeline", _prop(deal, "pipeline")),
            ("Close date", format_date(_prop(deal, "closedate"))),
            ("Created", format_date(_prop(deal, "createdate"))),
            ("Last modified", format_date(_prop(deal, "hs_lastmodifieddate"))),
            ("Owner", _prop(deal, "hubspot_owner_id")),
            ("Deal type", _prop(deal, "dealtype")),
            ("Contacts", [summarize_contact(c) for c in contacts]),
            ("Stage history", [_join([d, stage_label(s, detail=False)], " ") for d, s in changes]),
            ("Description", _prop(deal, "description")),
        ],
    )


def render_company(company: Any, contacts: Sequence[Any] = (), deals: Sequence[Any] = ()) -> str:
    """A HubSpot company with its contacts and deals."""
    company_id = _get(company, "id")
    name = _prop(company, "name") or _prop(company, "domain") or f"company {company_id}"
    return _lines(
        f"Company: {name}" + (f" (company {company_id})" if company_id else ""),
        [
            ("Domain", _prop(company, "domain")),
            ("Industry", _prop(company, "industry")),
            ("Employees", _prop(company, "numberofemployees")),
            ("Annual revenue", format_amount(_prop(company, "annualrevenue"))),
            (
                "Location",
                _join([_prop(company, "city"), _prop(company, "state"), _prop(company, "country")]),
            ),
            ("Lifecycle stage", _prop(company, "lifecyclestage")),
            ("Contacts", [summarize_contact(c) for c in contacts]),
            ("Deals", [summarize_deal(d) for d in deals]),
            ("Description", _prop(company, "description")),
        ],
    )


def render_contact(contact: Any, company: Any = None, deals: Sequence[Any] = ()) -> str:
    """A HubSpot contact with their company and deals."""
    contact_id = _get(contact, "id")
    name = person_name(contact) or _prop(contact, "email") or f"contact {contact_id}"
    return _lines(
        f"Contact: {name}" + (f" (contact {contact_id})" if contact_id else ""),
        [
            ("Title", _prop(contact, "jobtitle")),
            ("Email", _prop(contact, "email")),
            ("Company", summarize_company(company) or _prop(contact, "company")),
            ("Lifecycle stage", _prop(contact, "lifecyclestage")),
            ("Lead status", _prop(contact, "hs_lead_status")),
            ("Last modified", format_date(_prop(contact, "lastmodifieddate"))),
            ("Deals", [summarize_deal(d) for d in deals]),
        ],
    )


def render_apollo_person(person: Any) -> str:
    """An Apollo person with their organization."""
    person_id = _get(person, "id")
    org = _get(person, "organization")
    name = person_name(person) or _get(person, "email") or f"person {person_id}"
    title = _get(person, "title")
    org_name = _get(org, "name") or _get(person, "organization_name")
    role = _join([title, f"at {org_name}" if org_name else None], " ")
    departments = _get(person, "departments") or []
    return _lines(
        f"Contact: {name}"
        + (f", {role}" if role else "")
        + (f" (Apollo person {person_id})" if person_id else ""),
        [
            ("Email", _get(person, "email")),
            ("Seniority", _get(person, "seniority")),
            ("Departments", _join(str(d) for d in departments) if departments else None),
            (
                "Location",
                _join([_get(person, "city"), _get(person, "state"), _get(person, "country")]),
            ),
            ("Organization", summarize_company(org)),
            ("LinkedIn", _get(person, "linkedin_url")),
            ("Updated", format_date(_get(person, "updated_at"))),
        ],
    )


def entity_type(record: Any) -> str:
    """ "deal" | "company" | "contact" (HubSpot) or "person" (Apollo), by the record's
    ``objectType``/``type`` when present, else by its fields."""
    declared = str(_get(record, "objectType") or _get(record, "type") or "").lower()
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
        history = stage_history({"stage_history": hist}) if hist else None
        text = render_deal(deal, record.get("company"), record.get("contacts") or (), history)
        return _doc_id("hubspot", "deal", deal), text
    if isinstance(record, Mapping) and "contact" in record:
        contact = record["contact"]
        text = render_contact(contact, record.get("company"), record.get("deals") or ())
        return _doc_id("hubspot", "contact", contact), text
    if isinstance(record, Mapping) and "person" in record:
        return _doc_id("apollo", "person", record["person"]), render_apollo_person(record["person"])
    if (
        isinstance(record, Mapping)
        and isinstance(record.get("company"), Mapping)
        and ("properties" not in record)
    ):
        company = record["company"]
        text = render_company(company, record.get("contacts") or (), record.get("deals") or ())
        return _doc_id("hubspot", "company", company), text
    kind = entity_type(record)
    if kind == "deal":
        return _doc_id("hubspot", "deal", record), render_deal(record)
    if kind == "contact":
        return _doc_id("hubspot", "contact", record), render_contact(record)
    if kind == "person":
        return _doc_id("apollo", "person", record), render_apollo_person(record)
    return _doc_id("hubspot", "company", record), render_company(record)


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
    index = _Related(bare)
    out: list[tuple[str, str]] = []
    for item in items:
        if not (isinstance(item, Mapping) and "properties" in item):
            out.append(render_record(item))
            continue
        kind = entity_type(item)
        if kind == "deal":
            companies = index.related(item, "deal", "company")
            text = render_deal(
                item, companies[0] if companies else None, index.related(item, "deal", "contact")
            )
        elif kind == "contact":
            companies = index.related(item, "contact", "company")
            text = render_contact(
                item, companies[0] if companies else None, index.related(item, "contact", "deal")
            )
        else:
            text = render_company(
                item,
                index.related(item, "company", "contact"),
                index.related(item, "company", "deal"),
            )
        out.append((_doc_id("hubspot", kind, item), text))
    return out


_PLURAL = {"deal": "deals", "company": "companies", "contact": "contacts"}


class _Related:
    """Bare HubSpot objects by type and id, and who is associated with whom."""

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.links: set[tuple[str, str, str, str]] = set()
        for r in records:
            kind = entity_type(r)
            self.by_key[(kind, str(r.get("id")))] = r
        for (kind, rid), r in self.by_key.items():
            for other, plural in _PLURAL.items():
                for oid in associated_ids(r, plural):
                    self.links.add((kind, rid, other, oid))
                    self.links.add((other, oid, kind, rid))

    def related(self, record: Mapping[str, Any], kind: str, other: str) -> list[Any]:
        rid = str(record.get("id"))
        ids = sorted(oid for k, i, o, oid in self.links if (k, i, o) == (kind, rid, other))
        return [self.by_key[(other, oid)] for oid in ids if (other, oid) in self.by_key]


def _doc_id(source: str, kind: str, obj: Any) -> str:
    return f"{source}:{kind}:{_get(obj, 'id', '')}"


# --- chunking -----------------------------------------------------------------------


def chunk_crm_entity(doc_id: str, rendered_text: str, counter: TokenCounterLike) -> list[Chunk]:
    """One chunk when the rendering fits; otherwise pieces cut between its lines (a line
    too long alone at sentences, words, characters), each continuation starting with the
    entity's header line. The spans tile ``[0, len(rendered_text))``; a text with no
    visible character yields no chunk."""
    text = rendered_text
    if not text.strip():
        return []
    lines: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        lines.append((pos, pos + len(line)))
        pos += len(line)
    # Leading blank lines belong to the first real line so that it is the header.
    first = next(i for i, (s, e) in enumerate(lines) if text[s:e].strip())
    header_end = lines[first][1]
    header = _fit_header(_clean(text[lines[first][0] : header_end]), counter)
    spans = [(0, header_end)] + lines[first + 1 :]

    def render(s: int, e: int) -> str:
        body = text[s:e].strip()
        if s < header_end:
            return body
        return f"{header}\n{body}" if body else header

    return [
        Chunk(doc_id, i, p.text, p.start, p.end, p.tokens, label=header)
        for i, p in enumerate(pack_spans(text, spans, counter, render))
    ]


def _fit_header(header: str, counter: TokenCounterLike) -> str:
    limit = max(8, counter.budget // HEADER_SHARE)
    if counter.count(header) <= limit:
        return header
    lo, hi = 0, len(header)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter.count(header[:mid] + "…") <= limit:
            lo = mid
        else:
            hi = mid - 1
    return header[:lo] + "…"
