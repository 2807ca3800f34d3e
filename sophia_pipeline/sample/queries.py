"""A labelled query set for retrieval quality: questions a sales leader would ask, each
with the documents that answer it, derived from what this run generated (the Gong and
Slack labels, the Linear issues, the world's companies), never from fixed ids.

Writes ``_labels/queries.jsonl``: one ``{"query_id", "query", "kind", "relevant"}`` per
line, ``relevant`` the sorted doc ids (``source:entity_type:source_id``) that answer it.
Kinds:

- ``competitor`` (exact term): a competitor's name, alone or in a question; answered by
  every call and Slack thread that mentions it.
- ``talking_point`` (paraphrase): a question in words that share no keyword with the
  talking point's phrases (checked by a test); answered by the calls where a rep made
  that point.
- ``account``: what we discussed with a company, by name; its calls and CRM record.
- ``issue`` (exact term, a product problem): a Linear issue title; every issue filed
  under it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from .base import SampleRun, SampleSource
from .common import write_jsonl

LABELS = "_labels/queries.jsonl"
GONG_LABELS = "_labels/gong_calls.jsonl"
SLACK_LABELS = "_labels/slack_threads.jsonl"
LINEAR_FOLDER = "linear/issues"

# Two questions per talking point, in words none of its phrases use (see vocab.py's
# TALKING_POINT_LINES): retrieval must match meaning, not terms.
TALKING_POINT_QUESTIONS: dict[str, list[str]] = {
    "roi": [
        "Where did we argue the purchase pays for itself financially?",
        "Calls where the rep quantified the financial upside of buying",
    ],
    "security": [
        "Conversations reassuring buyers their information is protected and logins are "
        "centrally managed",
        "Which buyers did we reassure about compliance certifications?",
    ],
    "integrations": [
        "Did anyone ask whether our tool plugs into the systems they already run?",
        "Conversations about connecting to the tools a prospect already uses",
    ],
    "pricing_flexibility": [
        "When did we agree to cut the cost for a longer commitment or more users?",
        "Did we sweeten the commercial terms to close?",
    ],
    "time_to_value": [
        "How fast do new buyers get productive after signing?",
        "How long before a new team sees results after signing?",
    ],
    "customer_proof": [
        "Who offered to introduce a prospect to a happy existing client?",
        "Where did we point a prospect to peers who already succeeded with us?",
    ],
}
MAX_ACCOUNTS = 10
MAX_ISSUE_TITLES = 10
_COMPANY_SUFFIX = re.compile(r"\s+\([^()]*\)$")  # "... (Sterlingfield Freight)"


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def build_queries(landing_dir: Path, company_names: dict[str, str]) -> list[dict]:
    """The labelled queries for the landing zone under ``landing_dir`` (after every other
    generator wrote it); ``company_names`` maps HubSpot company id -> name."""
    calls = _read_jsonl(landing_dir / GONG_LABELS)
    threads = _read_jsonl(landing_dir / SLACK_LABELS)
    issues = [
        r for p in sorted((landing_dir / LINEAR_FOLDER).glob("*.jsonl")) for r in _read_jsonl(p)
    ]
    queries: list[dict] = []

    def add(kind: str, text: str, relevant: set[str]) -> None:
        if relevant:
            queries.append(
                {
                    "query_id": f"q{len(queries) + 1:03d}",
                    "query": text,
                    "kind": kind,
                    "relevant": sorted(relevant),
                }
            )

    by_competitor: dict[str, set[str]] = defaultdict(set)
    for c in calls:
        for name in c["competitors"]:
            by_competitor[name].add(f"gong:call:{c['call_id']}")
    for t in threads:
        for name in t["competitors"]:
            by_competitor[name].add(f"slack:thread:{t['thread_key']}")
    for name in sorted(by_competitor):
        add("competitor", name, by_competitor[name])
        add("competitor", f"Which conversations mentioned {name}?", by_competitor[name])

    by_point: dict[str, set[str]] = defaultdict(set)
    for c in calls:
        for point in c["talking_points"]:
            by_point[point].add(f"gong:call:{c['call_id']}")
    for point, questions in TALKING_POINT_QUESTIONS.items():
        for q in questions:
            add("talking_point", q, by_point[point])

    by_account: dict[str, set[str]] = defaultdict(set)
    for c in calls:
        if c.get("account_id"):
            by_account[c["account_id"]].add(f"gong:call:{c['call_id']}")
    busiest = sorted(by_account, key=lambda a: (-len(by_account[a]), a))[:MAX_ACCOUNTS]
    for account in busiest:
        if account in company_names:
            add(
                "account",
                f"What have we discussed with {company_names[account]}?",
                by_account[account] | {f"hubspot:company:{account}"},
            )

    by_title: dict[str, set[str]] = defaultdict(set)
    for issue in issues:
        by_title[_COMPANY_SUFFIX.sub("", issue["title"])].add(f"linear:issue:{issue['id']}")
    for title in sorted(by_title, key=lambda t: (-len(by_title[t]), t))[:MAX_ISSUE_TITLES]:
        add("issue", title, by_title[title])
    return queries


def write_sample(run: SampleRun) -> dict[str, int]:
    names = {c.id: c.name for c in run.world.companies}
    return {LABELS: write_jsonl(run.landing_dir / LABELS, build_queries(run.landing_dir, names))}


# After every source it reads (Gong 10, Slack 30, Linear 40, and the rest).
SAMPLE = SampleSource(order=100, folders=(), labels=(LABELS,), write=write_sample)
