"""What the KPI formulas read: deals, calls, issues, pull requests and LLM usage, parsed
from the warehouse's rows (documents, call transcripts, mentions, usage)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

# HubSpot's closed stages: a deal in either is no longer in the pipeline.
WON, LOST = "closedwon", "closedlost"
CLOSED = frozenset({WON, LOST})


@dataclass(frozen=True)
class Deal:
    deal_id: str
    account_id: str | None
    amount: float
    created_at: datetime
    stage: str | None  # the current stage (used when there is no history)
    closedate: datetime | None = None
    history: tuple[tuple[datetime, str], ...] = ()  # (entered at, stage), oldest first

    def stage_at(self, t: datetime) -> str | None:
        """The stage the deal was in just before ``t``; None before it existed."""
        if not self.history:
            return self.stage if self.created_at < t else None
        current = None
        for at, stage in self.history:
            if at >= t:
                break
            current = stage
        return current

    def closed_on(self, t: datetime) -> datetime | None:
        """When the deal closed, for a deal closed at ``t``: ``closedate``, else when it
        last entered its closed stage."""
        stage = self.stage_at(t)
        if stage not in CLOSED:
            return None
        if self.closedate is not None:
            return self.closedate
        entered = [at for at, s in self.history if s == stage and at < t]
        return entered[-1] if entered else self.created_at


@dataclass(frozen=True)
class Call:
    call_id: str
    account_id: str | None
    deal_id: str | None
    started_at: datetime
    sentiment: float | None


@dataclass(frozen=True)
class Issue:
    issue_id: str
    title: str
    assignee: str | None
    creator: str | None
    created_at: datetime
    completed_at: datetime | None = None
    canceled_at: datetime | None = None

    def open_at(self, t: datetime) -> bool:
        if self.created_at >= t:
            return False
        return not any(x is not None and x < t for x in (self.completed_at, self.canceled_at))


@dataclass(frozen=True)
class PullRequest:
    pr_id: str
    author: str | None
    created_at: datetime
    merged_at: datetime | None = None


@dataclass(frozen=True)
class LlmUsage:
    requests: int
    cost_usd: float


@dataclass
class KpiInputs:
    deals: list[Deal] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    # deal id -> when a Gong call on it first mentioned a competitor
    competitive_deals: dict[str, datetime] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    pull_requests: list[PullRequest] = field(default_factory=list)
    account_names: dict[str, str] = field(default_factory=dict)  # account id -> company
    llm_configured: bool = False
    llm_usage: dict[date, LlmUsage] = field(default_factory=dict)


def utc_naive(value: Any) -> datetime | None:
    """An ISO string or timestamp as a naive UTC datetime (the warehouse's convention)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _attrs(raw: Any) -> dict[str, Any]:
    if not raw or not isinstance(raw, str):
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(out) else out


def _str(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text or None


def deals_from_documents(df: pd.DataFrame) -> list[Deal]:
    """HubSpot deal documents (``source_id``, ``account_id``, ``occurred_at``,
    ``attributes``) as deals; deleted ones are left out by the query."""
    out: list[Deal] = []
    for r in df.to_dict("records"):
        a = _attrs(r.get("attributes"))
        history = tuple(
            sorted(
                (at, str(h["stage"]))
                for h in a.get("stage_history") or []
                if isinstance(h, dict)
                and h.get("stage")
                and (at := utc_naive(h.get("at"))) is not None
            )
        )
        created = utc_naive(r.get("occurred_at")) or utc_naive(a.get("createdate"))
        if created is None:
            continue
        out.append(
            Deal(
                deal_id=str(r["source_id"]),
                account_id=_str(r.get("account_id")),
                amount=_float(a.get("amount")),
                created_at=created,
                stage=_str(a.get("dealstage")),
                closedate=utc_naive(a.get("closedate")),
                history=history,
            )
        )
    return out


def issues_from_documents(df: pd.DataFrame) -> list[Issue]:
    """Linear issue documents (``source_id``, ``title``, ``author`` = creator,
    ``occurred_at``, ``attributes`` with assignee / completed_at / canceled_at)."""
    out: list[Issue] = []
    for r in df.to_dict("records"):
        a = _attrs(r.get("attributes"))
        created = utc_naive(r.get("occurred_at"))
        if created is None:
            continue
        out.append(
            Issue(
                issue_id=str(r["source_id"]),
                title=str(r.get("title") or ""),
                assignee=_str(a.get("assignee")),
                creator=_str(r.get("author")),
                created_at=created,
                completed_at=utc_naive(a.get("completed_at")),
                canceled_at=utc_naive(a.get("canceled_at")),
            )
        )
    return out


def pull_requests_from_documents(df: pd.DataFrame) -> list[PullRequest]:
    """GitHub pull-request documents; merged ones carry ``merged_at`` in attributes."""
    out: list[PullRequest] = []
    for r in df.to_dict("records"):
        a = _attrs(r.get("attributes"))
        created = utc_naive(r.get("occurred_at"))
        if created is None:
            continue
        merged_at = utc_naive(a.get("merged_at")) if a.get("merged", True) else None
        out.append(
            PullRequest(
                pr_id=str(r["source_id"]),
                author=_str(r.get("author")),
                created_at=created,
                merged_at=merged_at,
            )
        )
    return out


def calls_from_transcripts(df: pd.DataFrame) -> list[Call]:
    out: list[Call] = []
    for r in df.to_dict("records"):
        started = utc_naive(r.get("started_at"))
        if started is None:
            continue
        sentiment = r.get("sentiment_score")
        out.append(
            Call(
                call_id=str(r["call_id"]),
                account_id=_str(r.get("account_id")),
                deal_id=_str(r.get("deal_id")),
                started_at=started,
                sentiment=None if sentiment is None or pd.isna(sentiment) else float(sentiment),
            )
        )
    return out


def competitive_deals_from_mentions(df: pd.DataFrame) -> dict[str, datetime]:
    """Deal id -> first mention, from Gong mention rows (``deal_id``, ``mentioned_at``)."""
    first: dict[str, datetime] = {}
    for r in df.to_dict("records"):
        deal, at = _str(r.get("deal_id")), utc_naive(r.get("mentioned_at"))
        if deal and at is not None and (deal not in first or at < first[deal]):
            first[deal] = at
    return first


def account_names_from_documents(df: pd.DataFrame) -> dict[str, str]:
    return {
        str(r["account_id"]): str(r["title"])
        for r in df.to_dict("records")
        if _str(r.get("account_id")) and _str(r.get("title"))
    }


def llm_usage_from_rows(df: pd.DataFrame) -> dict[date, LlmUsage]:
    out: dict[date, LlmUsage] = {}
    for r in df.to_dict("records"):
        day = pd.Timestamp(r["usage_date"]).date()
        prior = out.get(day, LlmUsage(0, 0.0))
        out[day] = LlmUsage(
            prior.requests + int(r["requests"]), prior.cost_usd + _float(r["cost_usd"])
        )
    return out
