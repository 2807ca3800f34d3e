"""The competitor catalog (who competes with this company, which systems it integrates
with) and the default talking points.

A deployment names its own catalog file (``SOPHIA_COMPETITOR_CATALOG``, YAML or JSON, the
shape of the packaged ``competitors.yaml``); without one the packaged demo catalog is
used. The two lists are kept apart on purpose: the company's own CRM and call recorder
are systems it integrates with, never competitor threats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CATALOG_FILE = "competitors.yaml"


class CatalogError(ValueError):
    """A catalog file that cannot be used, with what is wrong in it."""


@dataclass(frozen=True)
class CompetitorCatalog:
    # canonical name -> aliases (matched case-insensitively on word boundaries, possessives
    # included: "Clari's" counts, "clarify" does not)
    competitors: dict[str, list[str]]
    integrations: dict[str, list[str]] = field(default_factory=dict)
    # aliases that are also English words: matched only with the catalog's own casing
    homonyms: frozenset[str] = frozenset()
    company: str | None = None


def _entries(section: Any, where: str) -> tuple[dict[str, list[str]], set[str]]:
    if section is None:
        return {}, set()
    if not isinstance(section, Mapping):
        raise CatalogError(f"{where} must map each name to its aliases")
    names: dict[str, list[str]] = {}
    homonyms: set[str] = set()
    for name, entry in section.items():
        name = str(name).strip()
        if not name:
            raise CatalogError(f"{where}: an entry has an empty name")
        homonym = False
        if isinstance(entry, Mapping):
            unknown = set(entry) - {"aliases", "homonym"}
            if unknown:
                raise CatalogError(f"{where}.{name}: unknown keys {sorted(unknown)}")
            homonym = bool(entry.get("homonym", False))
            entry = entry.get("aliases")
        if entry is None:
            entry = [name]
        if isinstance(entry, str) or not all(isinstance(a, str) for a in entry):
            raise CatalogError(f"{where}.{name}: aliases must be a list of strings")
        aliases = [a.strip() for a in entry if a.strip()] or [name]
        names[name] = aliases
        if homonym:
            homonyms.update(aliases)
    return names, homonyms


def parse_catalog(data: Any) -> CompetitorCatalog:
    """A catalog from its parsed file: ``competitors`` (required), ``integrations`` and
    ``company`` (optional). An alias may belong to one entry only."""
    if not isinstance(data, Mapping) or "competitors" not in data:
        raise CatalogError("a catalog is a mapping with a `competitors` section")
    unknown = set(data) - {"company", "competitors", "integrations"}
    if unknown:
        raise CatalogError(f"unknown top-level keys {sorted(unknown)}")
    competitors, h1 = _entries(data["competitors"], "competitors")
    integrations, h2 = _entries(data.get("integrations"), "integrations")
    seen: dict[str, str] = {}
    for section, entries in (("competitors", competitors), ("integrations", integrations)):
        for name, aliases in entries.items():
            for alias in aliases:
                key = alias.casefold()
                if key in seen and seen[key] != f"{section}.{name}":
                    raise CatalogError(
                        f"alias {alias!r} is in both {seen[key]} and {section}.{name}: a "
                        "system the company integrates with is not its competitor"
                    )
                seen[key] = f"{section}.{name}"
    company = data.get("company")
    return CompetitorCatalog(
        competitors=competitors,
        integrations=integrations,
        homonyms=frozenset(h1 | h2),
        company=str(company) if company else None,
    )


def load_catalog(path: Path | str | None = None) -> CompetitorCatalog:
    """The catalog in ``path`` (YAML or JSON), or the packaged demo catalog."""
    if path is None:
        return default_catalog()
    p = Path(path).expanduser()
    try:
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read the competitor catalog {p}: {exc}") from exc
    try:
        data = yaml.safe_load(raw)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise CatalogError(f"{p} is not valid YAML or JSON: {exc}") from exc
    try:
        return parse_catalog(data)
    except CatalogError as exc:
        raise CatalogError(f"{p}: {exc}") from exc


@lru_cache(maxsize=1)
def default_catalog() -> CompetitorCatalog:
    text = resources.files(__package__).joinpath(DEFAULT_CATALOG_FILE).read_text("utf-8")
    return parse_catalog(yaml.safe_load(text))


# talking point -> phrases that show a rep used it
DEFAULT_TALKING_POINTS: dict[str, list[str]] = {
    "roi": ["return on investment", "roi", "payback period"],
    "security": ["soc 2", "soc2", "single sign-on", "sso", "encryption at rest"],
    "integrations": ["integration", "integrates with", "api access", "native connector"],
    "pricing_flexibility": ["annual discount", "flexible pricing", "volume discount"],
    "time_to_value": ["onboarding", "go live", "time to value", "implementation timeline"],
    "customer_proof": ["case study", "reference customer", "customers like you"],
}
