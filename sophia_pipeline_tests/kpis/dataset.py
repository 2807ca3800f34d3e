"""A small hand-built warehouse whose KPIs were worked out by hand (see EXPECTED_*).

The KPI day is 2026-10-15 (``KPI_DAY``); the window "as of" it ends at 2026-10-16 00:00.

Deals (amount, stage history, account):
  D1 100,000  appointmentscheduled 09-01 -> closedwon 10-05          A1 Acme Corp
  D2  50,000  appointmentscheduled 09-01 -> closedwon 09-28          A2 Globex
  D3  40,000  qualifiedtobuy 09-10 -> contractsent 10-10             A1
  D4  20,000  appointmentscheduled 10-01 -> closedlost 10-20 (later) A2
  D5  30,000  presentationscheduled 09-15 -> closedlost 10-12        A2
  D6  10,000  appointmentscheduled 10-16 (created after the day)     A3 Initech
  D7  60,000  customstage 10-02 (not in HubSpot's default pipeline)  A3

revenue_mtd = D1 = 100,000 (D2 closed in September), 1 deal.
pipeline_value (weighted) = D3 0.9 x 40,000 + D4 0.2 x 20,000 + D7 0.5 x 60,000
  = 36,000 + 4,000 + 30,000 = 70,000; unweighted 120,000; 3 open deals.

Competitor mentions on Gong calls: D1 (10-01), D5 (10-03), D4 (10-14), D2 (10-20, after
the day). Closed competitive deals as of the day: D1 won, D5 lost (D4 still open, D2's
mention comes later) -> win rate 1 / 2 = 0.5.

Calls: C1 A1 10-01 sentiment 0.6; C2 A1 10-13 0.2; C3 A2 09-20 -0.4; C4 A2 10-20 (later).
  A1: S = (0.4 + 1) / 2 = 0.7; last activity C2 10-13 -> 2 days -> R = 1 - 2/30;
      open issues naming "Acme Corp": I1 -> I = 1/2.
      100 x (0.5 x 0.7 + 0.3 x 28/30 + 0.2 x 0.5) = 100 x (0.35 + 0.28 + 0.10) = 73.0
  A2: S = (-0.4 + 1) / 2 = 0.3; last activity D5's closedlost 10-12 -> 3 days -> R = 0.9;
      no open issue names "Globex" -> I = 1.
      100 x (0.5 x 0.3 + 0.3 x 0.9 + 0.2 x 1) = 100 x (0.15 + 0.27 + 0.20) = 62.0
  customer_health_score = (73 + 62) / 2 = 67.5 over 2 accounts.

Productivity window [10-09, 10-16):
  Linear: I2 completed 10-10 (assignee carol), I3 created 10-12 by dave, completed 10-14
  (assignee bob) -> 2 closed; I4 completed in September, I5 canceled (not closed).
  GitHub: P1 by bob-gh merged 10-11; P2 by frank-gh opened 10-13, unmerged; P3 merged in
  September -> 1 merged.
  Active: carol, bob, dave, bob-gh, frank-gh = 5 -> (2 + 1) / 5 = 0.6.

No LLM configured -> llm_cost_efficiency null.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pandas as pd

from sophia_pipeline.store.warehouse import Warehouse

KPI_DAY = date(2026, 10, 15)

EXPECTED_KPI_DAY = {
    "revenue_mtd": 100_000.0,
    "deals_won_mtd": 1,
    "pipeline_value": 70_000.0,
    "pipeline_value_unweighted": 120_000.0,
    "open_deals": 3,
    "customer_health_score": 67.5,
    "accounts_scored": 2,
    "competitive_win_rate": 0.5,
    "competitive_deals_won": 1,
    "competitive_deals_lost": 1,
    "team_productivity_score": 0.6,
    "issues_closed": 2,
    "prs_merged": 1,
    "active_people": 5,
    "llm_cost_efficiency": None,
}
EXPECTED_ACCOUNT_HEALTH = {"A1": 73.0, "A2": 62.0}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _doc(
    source: str,
    entity_type: str,
    source_id: str,
    occurred_at: str,
    *,
    title: str | None = None,
    author: str | None = None,
    account_id: str | None = None,
    deal_id: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    at = ts(occurred_at)
    return {
        "doc_id": f"{source}:{entity_type}:{source_id}",
        "source": source,
        "entity_type": entity_type,
        "source_id": source_id,
        "kind": "crm" if source == "hubspot" else "document",
        "title": title,
        "text": title or "",
        "author": author,
        "account_id": account_id,
        "deal_id": deal_id,
        "occurred_at": at,
        "updated_at": at,
        "deleted": False,
        "attributes": json.dumps(attributes or {}),
        "partition_date": at.date(),
    }


def _deal(
    deal_id: str,
    account: str,
    amount: float,
    history: list[tuple[str, str]],
    closedate: str | None = None,
) -> dict[str, Any]:
    stages = [{"stage": s, "at": f"{at}+00:00"} for s, at in history]
    attrs: dict[str, Any] = {
        "amount": amount,
        "dealstage": history[-1][0],
        "stage_history": stages,
        "createdate": f"{history[0][1]}+00:00",
    }
    if closedate:
        attrs["closedate"] = f"{closedate}+00:00"
    return _doc(
        "hubspot",
        "deal",
        deal_id,
        history[0][1],
        title=f"Deal {deal_id}",
        account_id=account,
        deal_id=deal_id,
        attributes=attrs,
    )


def _issue(
    key: str,
    title: str,
    creator: str,
    assignee: str | None,
    created: str,
    completed: str | None = None,
    canceled: str | None = None,
) -> dict[str, Any]:
    return _doc(
        "linear",
        "issue",
        key,
        created,
        title=f"{key}: {title}",
        author=creator,
        attributes={
            "assignee": assignee,
            "completed_at": f"{completed}+00:00" if completed else None,
            "canceled_at": f"{canceled}+00:00" if canceled else None,
            "state_type": "completed" if completed else ("canceled" if canceled else "started"),
        },
    )


def _pr(number: int, author: str, created: str, merged: str | None) -> dict[str, Any]:
    return _doc(
        "github",
        "pull_request",
        f"org/repo/pull/{number}",
        created,
        title=f"org/repo#{number}: change",
        author=author,
        attributes={
            "merged": merged is not None,
            "merged_at": f"{merged}+00:00" if merged else None,
        },
    )


def documents() -> pd.DataFrame:
    rows = [
        _doc("hubspot", "company", "A1", "2026-08-01T00:00:00", title="Acme Corp", account_id="A1"),
        _doc("hubspot", "company", "A2", "2026-08-01T00:00:00", title="Globex", account_id="A2"),
        _doc("hubspot", "company", "A3", "2026-08-01T00:00:00", title="Initech", account_id="A3"),
        _deal(
            "D1",
            "A1",
            100_000,
            [("appointmentscheduled", "2026-09-01T09:00:00"), ("closedwon", "2026-10-05T10:00:00")],
            closedate="2026-10-05T10:00:00",
        ),
        _deal(
            "D2",
            "A2",
            50_000,
            [("appointmentscheduled", "2026-09-01T09:00:00"), ("closedwon", "2026-09-28T10:00:00")],
            closedate="2026-09-28T10:00:00",
        ),
        _deal(
            "D3",
            "A1",
            40_000,
            [("qualifiedtobuy", "2026-09-10T09:00:00"), ("contractsent", "2026-10-10T09:00:00")],
        ),
        _deal(
            "D4",
            "A2",
            20_000,
            [
                ("appointmentscheduled", "2026-10-01T09:00:00"),
                ("closedlost", "2026-10-20T09:00:00"),
            ],
            closedate="2026-10-20T09:00:00",
        ),
        _deal(
            "D5",
            "A2",
            30_000,
            [
                ("presentationscheduled", "2026-09-15T09:00:00"),
                ("closedlost", "2026-10-12T09:00:00"),
            ],
            closedate="2026-10-12T09:00:00",
        ),
        _deal("D6", "A3", 10_000, [("appointmentscheduled", "2026-10-16T09:00:00")]),
        _deal("D7", "A3", 60_000, [("customstage", "2026-10-02T09:00:00")]),
        _issue("ENG-1", "Sync fails (Acme Corp)", "alice@x", "bob@x", "2026-10-01T09:00:00"),
        _issue(
            "ENG-2",
            "Export slow (Acme Corp)",
            "alice@x",
            "carol@x",
            "2026-09-20T09:00:00",
            completed="2026-10-10T12:00:00",
        ),
        _issue(
            "ENG-3",
            "Refactor",
            "dave@x",
            "bob@x",
            "2026-10-12T09:00:00",
            completed="2026-10-14T12:00:00",
        ),
        _issue(
            "ENG-4",
            "Old",
            "erin@x",
            "erin@x",
            "2026-08-01T09:00:00",
            completed="2026-09-01T09:00:00",
        ),
        _issue(
            "ENG-5",
            "Dropped",
            "alice@x",
            None,
            "2026-10-02T09:00:00",
            canceled="2026-10-11T09:00:00",
        ),
        _pr(1, "bob-gh", "2026-10-05T09:00:00", "2026-10-11T09:00:00"),
        _pr(2, "frank-gh", "2026-10-13T09:00:00", None),
        _pr(3, "bob-gh", "2026-09-01T09:00:00", "2026-09-05T09:00:00"),
    ]
    return pd.DataFrame(rows)


def call_row(
    call_id: str,
    account: str | None,
    deal: str | None,
    started: datetime,
    sentiment: float | None,
    mentions: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "doc_id": f"gong:call:{call_id}",
        "title": f"Call {call_id}",
        "call_date": started.date(),
        "started_at": started,
        "duration_s": 1800,
        "account_id": account,
        "deal_id": deal,
        "rep_email": "rita@sophia.example",
        "participants": "[]",
        "turn_count": 10,
        "transcript": "...",
        "transcript_chunks": 2,
        "sentiment_score": sentiment,
        "competitive_mentions": json.dumps([{"competitor": c} for c in mentions]),
        "talking_points_used": "[]",
        "outcome_category": "evaluation",
        "updated_at": started,
    }


def calls() -> pd.DataFrame:
    return pd.DataFrame(
        [
            call_row("C1", "A1", "D1", ts("2026-10-01T15:00:00"), 0.6, ["Clari"]),
            call_row("C2", "A1", "D3", ts("2026-10-13T15:00:00"), 0.2),
            call_row("C3", "A2", "D5", ts("2026-09-20T15:00:00"), -0.4),
            call_row("C4", "A2", "D4", ts("2026-10-20T15:00:00"), 0.9),
        ]
    )


def mention_row(
    mention_id: str,
    competitor: str,
    at: datetime,
    *,
    source: str = "gong",
    deal: str | None = None,
    account: str | None = None,
    threat: int = 2,
    sentiment: float = 0.0,
) -> dict[str, Any]:
    return {
        "mention_id": mention_id,
        "chunk_id": f"{source}:x:{mention_id}#0",
        "doc_id": f"{source}:x:{mention_id}",
        "source": source,
        "competitor": competitor,
        "alias": competitor,
        "matched_text": competitor,
        "context": f"... {competitor} ...",
        "sentiment": sentiment,
        "threat_level": threat,
        "account_id": account,
        "deal_id": deal,
        "mentioned_at": at,
        "partition_date": at.date(),
    }


def mentions() -> pd.DataFrame:
    return pd.DataFrame(
        [
            mention_row("M1", "Clari", ts("2026-10-01T15:10:00"), deal="D1", account="A1"),
            mention_row("M2", "Gong", ts("2026-10-03T15:10:00"), deal="D5", account="A2"),
            mention_row("M3", "Clari", ts("2026-10-14T15:10:00"), deal="D4", account="A2"),
            mention_row("M4", "Zoho", ts("2026-10-20T15:10:00"), deal="D2", account="A2"),
            # Not on a call: never makes a deal competitive.
            mention_row("M5", "Zoho", ts("2026-10-02T10:00:00"), source="slack"),
        ]
    )


def seed(warehouse: Warehouse) -> None:
    warehouse.insert("staging.documents", documents())
    warehouse.insert("gong_intelligence.call_transcripts", calls())
    warehouse.insert("competitive_intelligence.competitor_mentions", mentions())
