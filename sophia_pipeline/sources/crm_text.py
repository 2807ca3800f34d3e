"""Helpers shared by the CRM renderings of HubSpot (``hubspot.py``) and Apollo
(``apollo.py``): reading fields off records, formatting dates and amounts, one-line
summaries of related people and companies, and the line layout.

Records may be JSON objects or objects with attributes (pydantic models, dataclasses).
The renderings put the entity's header on the first line ("Deal: Acme renewal (deal 42)")
and one fact per line after it, related entities included, so that a search for "Acme
contract sent" finds the deal without a join; chunking them is processing's job
(``processing/chunking/crm.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

_WS = re.compile(r"\s+")


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for a mapping, ``obj.key`` otherwise."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def properties(obj: Any) -> Mapping[str, Any]:
    """A HubSpot object's ``properties`` (or the object itself when it is flat)."""
    props = get(obj, "properties")
    if isinstance(props, Mapping):
        return props
    return obj if isinstance(obj, Mapping) else {}


def prop(obj: Any, *keys: str) -> Any:
    """The first non-empty of ``keys`` among ``obj``'s properties."""
    props = properties(obj)
    for key in keys:
        value = props.get(key)
        if value not in (None, ""):
            return value
    return None


def clean(value: Any) -> str:
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
        return clean(text)


def format_amount(value: Any, currency: Any = None) -> str | None:
    if value in (None, ""):
        return None
    try:
        amount = float(str(value).replace(",", ""))
    except ValueError:
        return clean(value)
    text = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def join(parts: Iterable[str | None], sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def lines(header: str, fields: Sequence[tuple[str, Any]]) -> str:
    """The header line, then ``Name: value`` per non-empty field (a list as ``- item``
    lines under ``Name:``)."""
    out = [clean(header)]
    for name, value in fields:
        if isinstance(value, list):
            items = [clean(v) for v in value if v]
            if items:
                out.append(f"{name}:")
                out.extend(f"- {v}" for v in items)
        elif value not in (None, ""):
            out.append(f"{name}: {clean(value)}")
    return "\n".join(out) + "\n"


# --- one-line summaries of related entities -----------------------------------------


def person_name(contact: Any) -> str | None:
    first = prop(contact, "firstname", "first_name") or get(contact, "first_name")
    last = prop(contact, "lastname", "last_name") or get(contact, "last_name")
    name = join([first, last], " ") or prop(contact, "name") or get(contact, "name")
    return clean(name) if name else None


def summarize_company(company: Any) -> str | None:
    """A HubSpot company or an Apollo organization on one line."""
    if company is None:
        return None
    name = prop(company, "name") or get(company, "name")
    domain = (
        prop(company, "domain", "website")
        or get(company, "primary_domain")
        or get(company, "website_url")
    )
    employees = prop(company, "numberofemployees") or get(company, "estimated_num_employees")
    location = join(
        [
            prop(company, "city") or get(company, "city"),
            prop(company, "state") or get(company, "state"),
            prop(company, "country") or get(company, "country"),
        ]
    )
    return (
        join(
            [
                f"{name} ({domain})" if name and domain else (name or domain),
                prop(company, "industry") or get(company, "industry"),
                f"{employees} employees" if employees else None,
                location,
            ]
        )
        or None
    )


def summarize_contact(contact: Any) -> str | None:
    """A HubSpot contact or an Apollo person on one line."""
    if contact is None:
        return None
    return (
        join(
            [
                person_name(contact),
                prop(contact, "jobtitle", "title") or get(contact, "title"),
                prop(contact, "email") or get(contact, "email"),
            ]
        )
        or None
    )
