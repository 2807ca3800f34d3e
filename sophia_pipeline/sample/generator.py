"""The deterministic sample-data generator: landing files for all seven sources, plus the
ground-truth labels the taggers are scored against.

Same ``seed`` and ``reference_date`` give byte-identical files: every random choice comes
from a ``random.Random`` (and a Faker) seeded per source, JSON is written with sorted keys,
and nothing reads the clock except to default the reference date to today (UTC).

Layout under ``landing_dir`` (one JSON Lines file per UTC day of each record's event time):

- ``gong/calls/<day>.jsonl``               calls, by start time
- ``hubspot/{companies,contacts,deals}/<day>.jsonl``  objects, by last modification
- ``slack/messages/<day>.jsonl``           Events API envelopes, by message time
- ``linear/issues/<day>.jsonl``            issues, by updatedAt
- ``github/events/<day>.jsonl``            events, by created_at (a few delivered twice)
- ``costar/batches/costar_<day>.csv``      one CSV per delivery
- ``apollo/contacts/<day>.jsonl``          people, by updated_at
- ``_labels/gong_calls.jsonl``             per call, in call-id order
- ``_labels/slack_threads.jsonl``          per thread, in thread-key order

A call label is ``{"call_id", "account_id", "deal_id", "competitors": [canonical names,
sorted], "mentions": [...], "talking_points": [sorted keys], "outcome"}``; each mention is
``{"competitor", "alias" (the catalog alias), "surface" (the text as written: maybe
lower-case or possessive), "turn_index", "char_start", "char_end"}`` with the offsets into
that turn's text. Talking points are only ever said by reps. ``outcome`` is
``DEAL_STAGE_OUTCOMES`` of the linked deal's current ``dealstage``. A thread label is
``{"thread_key" (= the Slack document's source id), "channel", "thread_ts", "competitors",
"mentions"}`` with ``message_index`` (in ``ts`` order) in place of ``turn_index``.

Only these folders and files are removed and rewritten; anything else in ``landing_dir``
is left alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from .apollo import generate_people
from .common import Window, make_faker, make_rng, reset_dirs, write_jsonl, write_jsonl_by_day
from .costar import generate_batches, write_batches
from .github import generate_events
from .gong import generate_calls
from .hubspot import hubspot_records
from .linear import generate_issues, identifiers
from .slack import generate_messages
from .world import build_world

LABELS_DIR = "_labels"
GONG_LABELS = f"{LABELS_DIR}/gong_calls.jsonl"
SLACK_LABELS = f"{LABELS_DIR}/slack_threads.jsonl"

# Landing folders the generator owns, relative to the landing dir; also the keys of the
# counts it returns.
OWNED = [
    "gong/calls",
    "hubspot/companies",
    "hubspot/contacts",
    "hubspot/deals",
    "slack/messages",
    "linear/issues",
    "github/events",
    "costar/batches",
    "apollo/contacts",
    GONG_LABELS,
    SLACK_LABELS,
]


def generate(
    landing_dir: Path,
    scale: int = 1,
    seed: int = 7,
    reference_date: date | None = None,
) -> dict[str, int]:
    """Writes the sample landing zone; returns records (lines or CSV rows) written per
    owned path, e.g. ``{"gong/calls": 60, "hubspot/deals": 60, ...}``."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    ref = reference_date or datetime.now(UTC).date()
    window = Window.before(ref)
    landing_dir = Path(landing_dir)
    reset_dirs(landing_dir, OWNED)

    world = build_world(make_rng(seed, "world"), make_faker(seed, "world"), window, scale)
    # Calls before HubSpot: picking which deals get calls also decides which are archived.
    calls, call_labels = generate_calls(make_rng(seed, "gong"), world)
    crm = hubspot_records(make_rng(seed, "hubspot"), world)
    messages, thread_labels = generate_messages(make_rng(seed, "slack"), world)
    issues = generate_issues(make_rng(seed, "linear"), world)
    events = generate_events(make_rng(seed, "github"), world, identifiers(issues))
    batches = generate_batches(make_rng(seed, "costar"), make_faker(seed, "costar"), window, scale)
    people = generate_people(make_rng(seed, "apollo"), make_faker(seed, "apollo"), world)

    counts = {
        "gong/calls": write_jsonl_by_day(landing_dir / "gong" / "calls", calls),
        **{
            f"hubspot/{entity}": write_jsonl_by_day(landing_dir / "hubspot" / entity, rows)
            for entity, rows in crm.items()
        },
        "slack/messages": write_jsonl_by_day(landing_dir / "slack" / "messages", messages),
        "linear/issues": write_jsonl_by_day(landing_dir / "linear" / "issues", issues),
        "github/events": write_jsonl_by_day(landing_dir / "github" / "events", events),
        "costar/batches": write_batches(landing_dir / "costar" / "batches", batches),
        "apollo/contacts": write_jsonl_by_day(landing_dir / "apollo" / "contacts", people),
        GONG_LABELS: write_jsonl(landing_dir / GONG_LABELS, call_labels),
        SLACK_LABELS: write_jsonl(landing_dir / SLACK_LABELS, thread_labels),
    }
    return {key: counts[key] for key in OWNED}
