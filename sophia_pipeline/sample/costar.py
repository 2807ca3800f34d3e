"""Sample CoStar batch files: one CSV per delivery, properties re-appearing across
batches with drifting rents and vacancy, and free-text notes of very different lengths:
``costar/batches/costar_<day>.csv``."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from faker import Faker

from .base import SampleRun, SampleSource
from .common import Window, iso_z, rand_between
from .world import CITIES

ROWS_PER_SCALE = 150
COLUMNS = [
    "property_id", "address", "city", "state", "property_type", "square_feet",
    "asking_rent_psf", "vacancy_rate", "last_sale_price", "last_sale_date", "notes",
    "updated_at",
]  # fmt: skip
PROPERTY_TYPES = ["Office", "Industrial", "Retail", "Multifamily", "Flex", "Medical Office"]
RENT_RANGE = {"Office": (24, 68), "Industrial": (7, 16), "Retail": (18, 45),
              "Multifamily": (20, 40), "Flex": (12, 24), "Medical Office": (26, 52)}  # fmt: skip

NOTE_SENTENCES = [
    "Class {cls} building with {floors} floors and structured parking.",
    "Anchor tenant renewed for {years} years at a modest step-up.",
    "Landlord is offering {months} months of free rent on leases over 10,000 SF.",
    "Roof replaced in {year}; HVAC units are original and near end of life.",
    'Broker describes the ground-floor suite as "turnkey, with furniture available".',
    "Two full floors became available after the largest tenant consolidated to a suburban campus.",
    "Sublease space is growing in the submarket, which is putting pressure on asking rents.",
    "Loading: {docks} dock-high doors, 2 drive-ins, 32' clear height.",
    "Ownership changed hands in a portfolio sale; the new owner plans a lobby renovation.",
    "Vacancy is concentrated in the older wing, the newer wing is fully leased.",
    "Zoning allows medical, retail and light industrial uses.",
    "Parking ratio of {ratio} per 1,000 SF, above the submarket average.",
    "Tenant improvement allowance of ${ti}/SF quoted for new leases, negotiable.",
    "Walk score is high; the building sits two blocks from the new transit station.",
    "Property tax appeal pending, which could lower operating expenses next year.",
]


@dataclass
class _Property:
    property_id: str
    address: str
    city: str
    state: str
    property_type: str
    square_feet: int
    rent: float
    vacancy: float
    sale_price: int | None
    sale_date: date | None


def batch_days(window: Window, scale: int) -> list[date]:
    n = min(3 * scale, 30)
    step = (window.end - window.start) / n
    return [(window.start + step * (i + 0.5)).date() for i in range(n)]


def _note(rng: random.Random) -> str:
    count = rng.choices([1, 2, rng.randint(4, 7), rng.randint(10, 16)], [35, 30, 25, 10])[0]
    sentences = rng.sample(NOTE_SENTENCES, min(count, len(NOTE_SENTENCES)))
    return " ".join(sentences).format(
        cls=rng.choice("ABC"),
        floors=rng.randint(2, 30),
        years=rng.randint(3, 10),
        months=rng.randint(2, 9),
        year=rng.randint(2008, 2023),
        docks=rng.randint(4, 40),
        ratio=rng.choice(["3.5", "4.0", "4.5", "5.0"]),
        ti=rng.choice([25, 40, 55, 70]),
    )


def generate_batches(
    rng: random.Random, fake: Faker, window: Window, scale: int
) -> list[tuple[date, list[dict[str, str]]]]:
    days = batch_days(window, scale)
    per_batch = round(ROWS_PER_SCALE * scale / len(days))
    pool: list[_Property] = []
    for i in range(max(per_batch + 10, round(ROWS_PER_SCALE * scale * 0.6))):
        kind = rng.choice(PROPERTY_TYPES)
        city, state = rng.choice(CITIES)
        sold = rng.random() < 0.85
        pool.append(
            _Property(
                property_id=f"CS-{100000 + i * 17 + rng.randrange(17)}",
                address=f"{fake.building_number()} {fake.street_name()}",
                city=city,
                state=state,
                property_type=kind,
                square_feet=rng.randrange(4_000, 450_000, 500),
                rent=rng.uniform(*RENT_RANGE[kind]),
                vacancy=rng.uniform(0.0, 0.3),
                sale_price=rng.randrange(2_000_000, 180_000_000, 50_000) if sold else None,
                sale_date=date(rng.randint(2004, 2023), rng.randint(1, 12), rng.randint(1, 28))
                if sold
                else None,
            )
        )
    batches: list[tuple[date, list[dict[str, str]]]] = []
    for day in days:
        cutoff = datetime(day.year, day.month, day.day, 6, tzinfo=window.start.tzinfo)
        rows: list[dict[str, str]] = []
        for p in rng.sample(pool, min(per_batch, len(pool))):
            # Each delivery moves the market a little.
            p.rent = max(3.0, p.rent * rng.uniform(0.97, 1.04))
            p.vacancy = min(0.6, max(0.0, p.vacancy + rng.uniform(-0.03, 0.03)))
            updated = rand_between(rng, max(window.start, cutoff - timedelta(days=7)), cutoff)
            rows.append(
                {
                    "property_id": p.property_id,
                    "address": p.address,
                    "city": p.city,
                    "state": p.state,
                    "property_type": p.property_type,
                    "square_feet": str(p.square_feet),
                    "asking_rent_psf": f"{p.rent:.2f}",
                    "vacancy_rate": f"{p.vacancy:.3f}",
                    "last_sale_price": str(p.sale_price) if p.sale_price else "",
                    "last_sale_date": p.sale_date.isoformat() if p.sale_date else "",
                    "notes": _note(rng),
                    "updated_at": iso_z(updated),
                }
            )
        rows.sort(key=lambda r: r["property_id"])
        batches.append((day, rows))
    return batches


def write_batches(folder: Path, batches: list[tuple[date, list[dict[str, str]]]]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for day, rows in batches:
        with (folder / f"costar_{day.isoformat()}.csv").open(
            "w", encoding="utf-8", newline=""
        ) as fh:
            writer = csv.DictWriter(
                fh, fieldnames=COLUMNS, dialect="excel", lineterminator="\n",
                quoting=csv.QUOTE_MINIMAL,
            )  # fmt: skip
            writer.writeheader()
            writer.writerows(rows)
            n += len(rows)
    return n


def write_sample(run: SampleRun) -> dict[str, int]:
    batches = generate_batches(run.rng("costar"), run.faker("costar"), run.window, run.scale)
    return {"costar/batches": write_batches(run.landing_dir / "costar" / "batches", batches)}


SAMPLE = SampleSource(order=60, folders=("costar/batches",), write=write_sample)
