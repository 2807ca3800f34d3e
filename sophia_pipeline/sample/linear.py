"""Sample Linear issues: GraphQL-shaped issue objects with Markdown descriptions (headings,
paragraphs, lists, code blocks), a share of them long enough to need several chunks:
``linear/issues/<day>.jsonl`` by updatedAt."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

from .base import SampleRun, SampleSource
from .common import iso_ms, rand_between, uuid4, write_jsonl_by_day
from .world import Company, Person, World

ISSUES_PER_SCALE = 80

TEAMS = [("ENG", "Engineering"), ("INT", "Integrations"), ("DATA", "Data Platform")]

STATES = [  # name, type, weight
    ("Backlog", "backlog", 15),
    ("Todo", "unstarted", 15),
    ("In Progress", "started", 18),
    ("In Review", "started", 10),
    ("Done", "completed", 32),
    ("Canceled", "canceled", 10),
]
PRIORITIES = ["No priority", "Urgent", "High", "Medium", "Low"]

BUG_TITLES = [
    "CRM sync drops custom fields on large accounts",
    "Speaker labels swapped on calls with more than four participants",
    "Forecast roll-up double counts deals moved between reps",
    "Transcript search times out for workspaces over 50k calls",
    "Webhook receiver returns 500 on duplicate deliveries",
    "Salesforce sync fails with INVALID_SESSION_ID after token refresh",
    "HubSpot association import skips archived contacts",
    "Deal board shows stale stage after close",
    "Call start times off by one hour for EU users after DST change",
    "Summary generation stalls when a call has no prospect turns",
    "Slack digest posts twice when the job is retried",
]
FEATURE_TITLES = [
    "Add Pipedrive connector",
    "Weekly manager digest email",
    "Bulk export of call summaries to CSV",
    "Competitor mention alerts in Slack",
    "Support SCIM provisioning for enterprise workspaces",
    "Show stage history on the deal timeline",
    "Zoho CRM field mapping UI",
]
CHORE_TITLES = [
    "Upgrade pydantic to v2 in the ingest service",
    "Migrate the embeddings job to the new queue",
    "Remove legacy v1 transcript endpoints",
    "Pin tokenizer version in the chunking service",
    "Split the warehouse loader into per-source jobs",
]

SUMMARY = [
    "When a workspace has more than a few thousand records, the nightly job stops partway "
    "through and never reports an error.",
    "Several customers noticed this after the last release; it looks related to the change in "
    "how we page through results.",
    "This blocks the rollout to two enterprise accounts that are waiting on it.",
    "Reported by {company} through support, reproduced on staging with a copy of their data.",
    "Low effort, high value: managers keep asking for this in every quarterly review.",
    "We have a workaround, but it needs someone from support to run a script by hand each week.",
]
BACKGROUND = [
    "The sync runs every fifteen minutes and pulls changed records using the last-modified "
    "cursor. Each page holds up to one hundred objects, and we persist the cursor only after "
    "a page is fully written, which is what makes the job safe to restart.",
    "For large accounts the upstream API starts returning rate-limit responses after a few "
    "hundred requests. Our client retries with exponential backoff, but the retry budget is "
    "shared across all workspaces on the worker, so one noisy tenant can starve the others.",
    "The transcript pipeline splits each call into speaker turns before chunking. When two "
    "participants share a display name, the diarization step merges them, and every later "
    "turn is attributed to the wrong person.",
    "We store stage changes as separate rows, but the board reads only the latest snapshot. "
    "If the snapshot is written before the history row, the board renders the old stage until "
    "the next refresh, which can be up to an hour later.",
    "Today the export is built in memory and streamed at the end. For workspaces with tens of "
    "thousands of calls that pushes the worker past its memory limit and the pod is killed "
    "without a useful error message.",
    "Customers on the enterprise plan manage users in their identity provider and expect "
    "deprovisioning to take effect within minutes. Right now an admin has to remove people by "
    "hand, and we have had at least one security questionnaire flag it.",
    "The digest job is scheduled hourly and posts to the configured channel. When the job is "
    "retried after a transient failure, it has no record of what it already posted, so the "
    "same digest goes out twice.",
    "There is an older code path that still reads the v1 transcript format. It is only used "
    "by two internal dashboards, both of which can move to the v2 endpoint with small changes.",
]
STEPS = [
    "Create a workspace with at least 5,000 deals",
    "Connect the CRM with an admin user",
    "Trigger a full sync from the settings page",
    "Open the deal board and filter by owner",
    "Wait for the nightly job to finish",
    "Compare the counts with the source system",
    "Retry the failed job from the admin console",
]
CRITERIA = [
    "Works for workspaces with more than 10k records",
    "Emits a metric for every failed page",
    "Documented in the admin guide",
    "Covered by an integration test against the replay client",
    "Feature-flagged per workspace",
    "No change to the public API",
]
NOTES = [
    "Might be related to the retry change that shipped last sprint.",
    "Customer is on the enterprise plan, please prioritize.",
    "We should add a regression test with the anonymized payload.",
    "Pairing with data platform on the schema change.",
    "See the thread in #eng-support for the original report.",
]
CODE_BLOCKS = [
    (
        "python",
        'Traceback (most recent call last):\n  File "sync/worker.py", line 214, in run_page\n'
        "    records = client.fetch(cursor=cursor, limit=100)\n"
        '  File "sync/client.py", line 88, in fetch\n    response.raise_for_status()\n'
        "httpx.HTTPStatusError: Client error '429 Too Many Requests'",
    ),
    (
        "sql",
        "select deal_id, count(*) as versions\nfrom raw_deals\nwhere updated_at >= current_date"
        " - 7\ngroup by deal_id\nhaving count(*) > 1\norder by versions desc;",
    ),
    (
        "json",
        '{\n  "workspace_id": "ws_4821",\n  "cursor": "2024-04-02T10:00:00Z",\n'
        '  "page_size": 100,\n  "retries": 5\n}',
    ),
    (
        "bash",
        "kubectl -n ingest logs deploy/sync-worker --since=1h | grep -i 'cursor'\n"
        "sophia-pipeline replay --source hubspot --day 2024-04-02",
    ),
    (
        "python",
        "def next_cursor(records: list[dict], current: str) -> str:\n"
        '    """The newest updatedAt seen, never moving backwards."""\n'
        '    newest = max((r["updatedAt"] for r in records), default=current)\n'
        "    return max(newest, current)",
    ),
]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def _user(p: Person) -> dict:
    return {"id": p.linear_id, "name": p.name, "displayName": p.first.lower(), "email": p.email}


def _description(rng: random.Random, kind: str, company: Company, long: bool) -> str:
    parts: list[str] = []
    summary = " ".join(rng.sample(SUMMARY, rng.randint(1, 2))).format(company=company.name)
    if kind == "bug":
        parts += ["## Summary", summary]
        if long:
            parts += ["## Background", *rng.sample(BACKGROUND, rng.randint(3, 5))]
        steps = rng.sample(STEPS, rng.randint(3, 5))
        parts += ["## Steps to reproduce", "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))]
        parts += [
            "## Expected",
            "All records are synced and the counts match the source.",
            "## Actual",
            "The job stops partway through; the last page is never written.",
        ]
    else:
        parts += ["## Problem" if kind == "feature" else "## Why", summary]
        if long:
            parts += ["## Background", *rng.sample(BACKGROUND, rng.randint(3, 5))]
            parts += [
                "## Proposal",
                "\n".join(f"{i}. {s}" for i, s in enumerate(rng.sample(CRITERIA, 3), 1)),
            ]
        criteria = rng.sample(CRITERIA, rng.randint(2, 4))
        parts += ["## Acceptance criteria", "\n".join(f"- [ ] {c}" for c in criteria)]
    if long or rng.random() < 0.5:
        lang, code = rng.choice(CODE_BLOCKS)
        parts += [f"```{lang}\n{code}\n```"]
    if rng.random() < 0.6:
        parts += ["## Notes", "\n".join(f"- {n}" for n in rng.sample(NOTES, rng.randint(1, 3)))]
    return "\n\n".join(parts) + "\n"


def generate_issues(rng: random.Random, world: World) -> list[tuple[datetime, str, dict]]:
    window = world.window
    engineers = world.by_role("eng")
    creators = engineers + world.by_role("cs") + world.by_role("se")
    teams = [(key, name, uuid4(rng)) for key, name in TEAMS]
    states = {name: uuid4(rng) for name, _, _ in STATES}
    labels = {name: uuid4(rng) for name in ("bug", "feature", "chore", "customer", "regression")}
    counters = {key: rng.randint(100, 400) for key, _ in TEAMS}
    live = [c for c in world.companies if c.archived_at is None]
    records: list[tuple[datetime, str, dict]] = []
    n = ISSUES_PER_SCALE * world.scale
    for _ in range(n):
        kind = rng.choices(["bug", "feature", "chore"], [50, 30, 20])[0]
        titles = {"bug": BUG_TITLES, "feature": FEATURE_TITLES, "chore": CHORE_TITLES}[kind]
        title = rng.choice(titles)
        company = rng.choice(live)
        if kind == "bug" and rng.random() < 0.4:
            title = f"{title} ({company.name})"
        team_key, team_name, team_id = rng.choice(teams)
        counters[team_key] += 1
        number = counters[team_key]
        identifier = f"{team_key}-{number}"
        state_name, state_type, _ = rng.choices(STATES, [w for *_, w in STATES])[0]
        created = rand_between(rng, window.start, window.end - timedelta(days=2))
        updated = rand_between(rng, created, window.end - timedelta(hours=1))
        completed = canceled = archived = None
        if state_type == "completed":
            completed = rand_between(rng, created, updated) if updated > created else updated
        elif state_type == "canceled":
            canceled = rand_between(rng, created, updated) if updated > created else updated
        if state_type in ("completed", "canceled") and rng.random() < 0.2:
            archived = rand_between(rng, updated, window.end - timedelta(minutes=10))
            updated = archived
        assignee = None if state_type == "backlog" and rng.random() < 0.6 else rng.choice(engineers)
        priority = rng.randint(0, 4)
        issue_labels = [kind] + (["customer"] if company.name in title else [])
        record = {
            "id": uuid4(rng),
            "identifier": identifier,
            "number": number,
            "title": title,
            "description": _description(rng, kind, company, long=rng.random() < 0.3),
            "priority": priority,
            "priorityLabel": PRIORITIES[priority],
            "estimate": rng.choice([None, 1, 2, 3, 5, 8]),
            "state": {"id": states[state_name], "name": state_name, "type": state_type},
            "team": {"id": team_id, "key": team_key, "name": team_name},
            "assignee": _user(assignee) if assignee else None,
            "creator": _user(rng.choice(creators)),
            "labels": [{"id": labels[name], "name": name} for name in issue_labels],
            "url": f"https://linear.app/sophia/issue/{identifier}/{_slug(title)}",
            "createdAt": iso_ms(created),
            "updatedAt": iso_ms(updated),
            "completedAt": iso_ms(completed) if completed else None,
            "canceledAt": iso_ms(canceled) if canceled else None,
            "archivedAt": iso_ms(archived) if archived else None,
        }
        records.append((updated, identifier, record))
    return records


def identifiers(records: list[tuple[datetime, str, dict]]) -> list[str]:
    return sorted(key for _, key, _ in records)


def write_sample(run: SampleRun) -> dict[str, int]:
    issues = generate_issues(run.rng("linear"), run.world)
    run.world.linear_issue_keys = identifiers(issues)  # for GitHub's pull requests
    return {"linear/issues": write_jsonl_by_day(run.landing_dir / "linear" / "issues", issues)}


SAMPLE = SampleSource(order=40, folders=("linear/issues",), write=write_sample)
