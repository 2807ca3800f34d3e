"""Sample Apollo.io people: some at the HubSpot companies (a few the very same contacts,
matched by email), most at other organizations, as an enrichment feed would return them:
``apollo/contacts/<day>.jsonl`` by updated_at."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from faker import Faker

from .base import SampleRun, SampleSource
from .common import hex_id, rand_between, write_jsonl_by_day
from .world import CONTACT_TITLES, INDUSTRY_NAMES, NamePool, World, ascii_slug

PEOPLE_PER_SCALE = 100
SENIORITY = {
    "VP": "vp", "Director": "director", "Head": "head", "Chief": "c_suite",
    "Manager": "manager", "Analyst": "entry", "Engineer": "senior", "Executive": "senior",
}  # fmt: skip
_OTHER_ORGS = ["Parkside Dental Group", "Lakeshore Credit Union", "Brightline Staffing",
               "Tristate Plumbing Supply", "Copperleaf Hotels", "Mesa Verde Schools",
               "Harborview Law", "Oakmont Property Management", "Redwood Vet Clinics",
               "Sunrise Senior Living", "Keel and Rudder Marine", "Prairie Seed Co"]  # fmt: skip


def apollo_time(dt: datetime) -> str:
    """Apollo's own format: ``2024-05-01T12:00:00.000+00:00``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _seniority(title: str) -> str:
    for word, level in SENIORITY.items():
        if word in title:
            return level
    return "senior"


def generate_people(
    rng: random.Random, fake: Faker, world: World
) -> list[tuple[datetime, str, dict]]:
    window = world.window
    names = NamePool(fake)
    orgs: list[dict] = []
    for c in world.companies:
        orgs.append(
            {
                "id": hex_id(rng),
                "name": c.name,
                "website_url": f"http://www.{c.domain}",
                "primary_domain": c.domain,
                "industry": INDUSTRY_NAMES[c.industry].replace("_", " ").lower(),
                "estimated_num_employees": c.employees,
                "founded_year": rng.randint(1975, 2020),
            }
        )
    for name in _OTHER_ORGS:
        domain = f"{ascii_slug(name)}.com"
        orgs.append(
            {
                "id": hex_id(rng),
                "name": name,
                "website_url": f"http://www.{domain}",
                "primary_domain": domain,
                "industry": rng.choice(
                    [
                        "hospitality",
                        "legal services",
                        "education management",
                        "real estate",
                        "staffing and recruiting",
                    ]
                ),
                "estimated_num_employees": rng.choice([20, 60, 150, 400]),
                "founded_year": rng.randint(1960, 2018),
            }
        )
    contacts_by_domain: dict[str, list] = {}
    for contact in world.contacts:
        contacts_by_domain.setdefault(contact.email.split("@")[1], []).append(contact)

    records: list[tuple[datetime, str, dict]] = []
    used_emails: set[str] = set()
    while len(records) < PEOPLE_PER_SCALE * world.scale:
        org = rng.choice(orgs)
        known = [c for c in contacts_by_domain.get(org["primary_domain"], [])
                 if c.email not in used_emails]  # fmt: skip
        if known and rng.random() < 0.3:
            contact = rng.choice(known)
            first, last, title = contact.first, contact.last, contact.title
        else:
            first, last = names.take()
            title = rng.choice(CONTACT_TITLES)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}@{org['primary_domain']}"
        if email in used_emails:
            continue
        used_emails.add(email)
        created = rand_between(rng, window.start, window.end - timedelta(days=1))
        updated = rand_between(rng, created, window.end - timedelta(minutes=5))
        person_id = hex_id(rng)
        city, state = rng.choice([("Austin", "Texas"), ("Denver", "Colorado"),
                                  ("Chicago", "Illinois"), ("Boston", "Massachusetts"),
                                  ("Seattle", "Washington"), ("Atlanta", "Georgia")])  # fmt: skip
        record = {
            "id": person_id,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "title": title,
            "seniority": _seniority(title),
            "departments": ["master_sales"] if "Sales" in title or "Revenue" in title else [],
            "email": email,
            "email_status": rng.choice(["verified", "verified", "verified", "guessed"]),
            "linkedin_url": f"http://www.linkedin.com/in/{ascii_slug(first)}-{ascii_slug(last)}"
            f"-{person_id[-6:]}",
            "city": city,
            "state": state,
            "country": "United States",
            "organization_id": org["id"],
            "organization": org,
            "created_at": apollo_time(created),
            "updated_at": apollo_time(updated),
        }
        records.append((updated, person_id, record))
    return records


def write_sample(run: SampleRun) -> dict[str, int]:
    people = generate_people(run.rng("apollo"), run.faker("apollo"), run.world)
    return {"apollo/contacts": write_jsonl_by_day(run.landing_dir / "apollo" / "contacts", people)}


SAMPLE = SampleSource(order=70, folders=("apollo/contacts",), write=write_sample)
