"""The shared cast every source refers to: our own team, and the HubSpot companies,
contacts and deals the calls, Slack threads and Apollo records point at."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from faker import Faker

from sophia_pipeline.documents import DEAL_STAGE_OUTCOMES

from .common import Window, rand_between, slack_id
from .vocab import is_clean

OUR_DOMAIN = "sophia-ai.example"

OPEN_STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
]
# Where deals end up: a spread over every stage so every outcome category has calls.
FINAL_STAGE_WEIGHTS = {
    "appointmentscheduled": 8,
    "qualifiedtobuy": 12,
    "presentationscheduled": 14,
    "decisionmakerboughtin": 10,
    "contractsent": 12,
    "closedwon": 24,
    "closedlost": 20,
}
assert set(FINAL_STAGE_WEIGHTS) == set(DEAL_STAGE_OUTCOMES)

INDUSTRIES = [
    "Logistics",
    "Health",
    "Analytics",
    "Foods",
    "Robotics",
    "Energy",
    "Capital",
    "Software",
    "Manufacturing",
    "Retail",
    "Biotech",
    "Media",
    "Insurance",
    "Freight",
    "Security",
    "Labs",
]
INDUSTRY_NAMES = {
    "Logistics": "TRANSPORTATION_TRUCKING_RAILROAD",
    "Health": "HOSPITAL_HEALTH_CARE",
    "Analytics": "COMPUTER_SOFTWARE",
    "Foods": "FOOD_PRODUCTION",
    "Robotics": "INDUSTRIAL_AUTOMATION",
    "Energy": "RENEWABLES_ENVIRONMENT",
    "Capital": "FINANCIAL_SERVICES",
    "Software": "COMPUTER_SOFTWARE",
    "Manufacturing": "MACHINERY",
    "Retail": "RETAIL",
    "Biotech": "BIOTECHNOLOGY",
    "Media": "ONLINE_MEDIA",
    "Insurance": "INSURANCE",
    "Freight": "LOGISTICS_AND_SUPPLY_CHAIN",
    "Security": "COMPUTER_NETWORK_SECURITY",
    "Labs": "RESEARCH",
}
_PREFIXES = [
    "North", "Blue", "Silver", "Bright", "Iron", "Cedar", "Summit", "Harbor", "Granite",
    "Maple", "Clear", "Red", "Pine", "Stone", "Atlas", "Beacon", "Crescent", "Evergreen",
    "Falcon", "Golden", "Horizon", "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus",
    "Orchid", "Pioneer", "Quarry", "Ridge", "Sterling", "Tidal", "Union", "Vantage",
    "Willow", "Zenith", "Copper", "Driftwood", "Ember", "Fjord",
]  # fmt: skip
_SUFFIXES = ["wind", "peak", "field", "line", "gate", "bridge", "point", "works", "crest",
             "river", "haven", "light", "path", "wave", "mark"]  # fmt: skip

CITIES = [
    ("Austin", "TX"), ("Denver", "CO"), ("Chicago", "IL"), ("Boston", "MA"),
    ("Seattle", "WA"), ("Atlanta", "GA"), ("Nashville", "TN"), ("Phoenix", "AZ"),
    ("Portland", "OR"), ("Columbus", "OH"), ("Raleigh", "NC"), ("San Diego", "CA"),
    ("Salt Lake City", "UT"), ("Minneapolis", "MN"), ("Pittsburgh", "PA"), ("Miami", "FL"),
    ("Dallas", "TX"), ("New York", "NY"), ("San Francisco", "CA"), ("Charlotte", "NC"),
]  # fmt: skip

CONTACT_TITLES = [
    "VP of Sales", "Director of Revenue Operations", "Sales Manager", "Chief Revenue Officer",
    "Head of Sales Enablement", "Account Executive", "Chief Financial Officer", "IT Director",
    "Security Engineer", "Sales Operations Analyst", "Head of Customer Success",
    "Regional Sales Director", "Procurement Manager", "Director of Sales Development",
]  # fmt: skip

# (role, how many at scale 1, UTC offsets in hours they might sit in)
TEAM_SHAPE = [
    ("rep", 8, [-5, -8, -6, 0, 1]),
    ("se", 2, [-5, -8]),
    ("manager", 1, [-5]),
    ("cs", 3, [-5, -6, 0]),
    ("eng", 8, [-8, -5, 1, 2]),
]


@dataclass(frozen=True)
class Person:
    """Someone on our own team: a seller on Gong calls, a member in Slack, an engineer in
    Linear and GitHub."""

    key: str
    first: str
    last: str
    role: str
    email: str
    owner_id: str  # HubSpot owner id
    slack_id: str
    github_login: str
    github_id: int
    linear_id: str
    utc_offset_h: int

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Company:
    id: str
    name: str
    domain: str
    industry: str
    city: str
    state: str
    employees: int
    annual_revenue: int
    created: datetime
    updated: datetime
    archived_at: datetime | None = None
    contact_ids: list[str] = field(default_factory=list)
    deal_ids: list[str] = field(default_factory=list)


@dataclass
class Contact:
    id: str
    company_id: str
    first: str
    last: str
    email: str
    title: str
    phone: str
    created: datetime
    updated: datetime
    archived_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Deal:
    id: str
    company_id: str
    contact_ids: list[str]
    owner: Person
    name: str
    amount: int
    seats: int
    history: list[tuple[str, datetime]]  # oldest first; the last entry is the current stage
    created: datetime
    updated: datetime
    closedate: datetime
    archived_at: datetime | None = None

    @property
    def stage(self) -> str:
        return self.history[-1][0]

    @property
    def is_closed(self) -> bool:
        return self.stage in ("closedwon", "closedlost")

    @property
    def activity_end(self) -> datetime:
        """When talking to the customer stopped: the close, or the last stage change."""
        return self.history[-1][1]


@dataclass
class World:
    window: Window
    scale: int
    team: list[Person]
    companies: list[Company]
    contacts: list[Contact]
    deals: list[Deal]
    # Set by the Linear generator (ENG-12, ...), read by GitHub's pull requests.
    linear_issue_keys: list[str] = field(default_factory=list)

    def by_role(self, role: str) -> list[Person]:
        return [p for p in self.team if p.role == role]

    def company(self, company_id: str) -> Company:
        return self._companies[company_id]

    def contact(self, contact_id: str) -> Contact:
        return self._contacts[contact_id]

    def __post_init__(self) -> None:
        self._companies = {c.id: c for c in self.companies}
        self._contacts = {c.id: c for c in self.contacts}


def ascii_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


class NamePool:
    """Unique, clean person names: no alias or talking-point phrase may hide in a name,
    because names are spoken in transcripts and rendered as speaker labels."""

    def __init__(self, fake: Faker) -> None:
        self._fake = fake
        self._used: set[tuple[str, str]] = set()

    def take(self) -> tuple[str, str]:
        while True:
            first, last = self._fake.first_name(), self._fake.last_name()
            if (first, last) in self._used or not is_clean(f"{first} {last}"):
                continue
            if not ascii_slug(first) or not ascii_slug(last):
                continue
            self._used.add((first, last))
            return first, last


def build_team(rng: random.Random, names: NamePool, scale: int) -> list[Person]:
    team: list[Person] = []
    for role, count, offsets in TEAM_SHAPE:
        for i in range(count * scale if role in ("rep", "cs") else count + scale - 1):
            first, last = names.take()
            n = len(team) + 1
            team.append(
                Person(
                    key=f"{role}-{i + 1:02d}",
                    first=first,
                    last=last,
                    role=role,
                    email=f"{ascii_slug(first)}.{ascii_slug(last)}@{OUR_DOMAIN}",
                    owner_id=str(81000000 + n * 137),
                    slack_id=slack_id(rng, "U", 11),
                    github_login=f"{ascii_slug(first)[:1]}{ascii_slug(last)}-sophia",
                    github_id=4100000 + n * 7919,
                    linear_id=f"{rng.getrandbits(128):032x}",
                    utc_offset_h=rng.choice(offsets),
                )
            )
    return team


def _company_names(rng: random.Random, n: int) -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(names) < n:
        stem = rng.choice(_PREFIXES) + rng.choice(_SUFFIXES)
        industry = rng.choice(INDUSTRIES)
        name = f"{stem} {industry}"
        if name in seen or not is_clean(name):
            continue
        seen.add(name)
        names.append((name, industry))
    return names


def build_world(rng: random.Random, fake: Faker, window: Window, scale: int) -> World:
    names = NamePool(fake)
    team = build_team(rng, names, scale)
    reps = [p for p in team if p.role == "rep"]
    start = window.start

    companies: list[Company] = []
    for i, (name, industry) in enumerate(_company_names(rng, 40 * scale)):
        created = rand_between(rng, start, start + timedelta(days=30))
        city, state = rng.choice(CITIES)
        employees = rng.choice([45, 80, 120, 250, 400, 750, 1200, 2500, 6000])
        companies.append(
            Company(
                id=str(5100000000 + i * 7 + 3),
                name=name,
                domain=f"{ascii_slug(name)}.com",
                industry=industry,
                city=city,
                state=state,
                employees=employees,
                annual_revenue=employees * rng.randrange(120, 400) * 1000,
                created=created,
                updated=rand_between(rng, created, window.end - timedelta(hours=1)),
            )
        )

    # Every company gets two contacts first, so every deal has people to put on a call.
    contacts: list[Contact] = []
    owners = [c for c in companies for _ in range(2)]
    owners += [rng.choice(companies) for _ in range(120 * scale - len(owners))]
    for i, company in enumerate(owners):
        first, last = names.take()
        created = rand_between(rng, company.created, company.created + timedelta(days=10))
        contact = Contact(
            id=str(7200000000 + i * 11 + 5),
            company_id=company.id,
            first=first,
            last=last,
            email=f"{ascii_slug(first)}.{ascii_slug(last)}@{company.domain}",
            title=rng.choice(CONTACT_TITLES),
            phone=f"+1 {rng.randrange(201, 989)} 555 {rng.randrange(1000, 9999)}",
            created=created,
            updated=rand_between(rng, created, window.end - timedelta(hours=1)),
        )
        contacts.append(contact)
        company.contact_ids.append(contact.id)

    # A couple of companies never get a deal; they are the ones that can be archived.
    with_deals = companies[: max(1, len(companies) - 2 * scale)]
    deals: list[Deal] = []
    stages = list(FINAL_STAGE_WEIGHTS)
    weights = [FINAL_STAGE_WEIGHTS[s] for s in stages]
    for i in range(60 * scale):
        company = with_deals[i] if i < len(with_deals) else rng.choice(with_deals)
        created = rand_between(
            rng, company.created + timedelta(hours=2), start + timedelta(days=55)
        )
        final = rng.choices(stages, weights)[0]
        path = _stage_path(rng, final)
        horizon = min(
            created + timedelta(days=rng.randrange(20, 55)), window.end - timedelta(days=1)
        )
        changes = sorted(rand_between(rng, created, horizon) for _ in path[1:])
        history = list(zip(path, [created, *changes], strict=True))
        last_change = history[-1][1]
        seats = rng.choice([15, 25, 40, 60, 80, 120, 200, 350])
        if final in ("closedwon", "closedlost"):
            closedate = last_change
        else:
            closedate = last_change + timedelta(days=rng.randrange(14, 60))
        deal = Deal(
            id=str(9300000000 + i * 13 + 1),
            company_id=company.id,
            contact_ids=rng.sample(
                company.contact_ids, min(len(company.contact_ids), rng.randint(1, 3))
            ),
            owner=rng.choice(reps),
            name=f"{company.name} - {seats} seats",
            amount=seats * rng.choice([600, 720, 900, 1080]),
            seats=seats,
            history=history,
            created=created,
            updated=rand_between(rng, last_change, window.end - timedelta(minutes=30)),
            closedate=closedate,
        )
        deals.append(deal)
        company.deal_ids.append(deal.id)

    _archive_some(rng, companies, contacts, deals, with_deals, window)
    return World(window, scale, team, companies, contacts, deals)


def _stage_path(rng: random.Random, final: str) -> list[str]:
    if final == "closedwon":
        return [*OPEN_STAGES, "closedwon"][rng.randint(0, 2) :]
    if final == "closedlost":
        return [*OPEN_STAGES[: rng.randint(1, len(OPEN_STAGES))], "closedlost"]
    return OPEN_STAGES[: OPEN_STAGES.index(final) + 1]


def _archive_some(
    rng: random.Random,
    companies: list[Company],
    contacts: list[Contact],
    deals: list[Deal],
    with_deals: list[Company],
    window: Window,
) -> None:
    """A few deletes per object type. Archived contacts are never on a deal, and the
    archived deals are picked later (by the call writer) from deals without calls, so
    every reference a call makes is to a live object."""
    on_deals = {cid for d in deals for cid in d.contact_ids}
    for company in companies[len(with_deals) :][:1]:
        company.archived_at = rand_between(rng, company.updated, window.end - timedelta(minutes=5))
        company.updated = company.archived_at
    free = [c for c in contacts if c.id not in on_deals]
    for contact in rng.sample(free, min(len(free), max(2, len(contacts) // 40))):
        contact.archived_at = rand_between(rng, contact.updated, window.end - timedelta(minutes=5))
        contact.updated = contact.archived_at


def archive_deals(rng: random.Random, deals: list[Deal], count: int, window: Window) -> None:
    for deal in deals[:count]:
        deal.archived_at = rand_between(rng, deal.updated, window.end - timedelta(minutes=5))
        deal.updated = deal.archived_at
