"""Executive KPIs, computed per day from the warehouse's rows: pure functions, no Dagster.

Every KPI is "as of" the end of its day (UTC): a deal's stage on that day comes from its
stage history, an issue counts as closed from its ``completedAt``, a PR from its
``merged_at``. So a backfill of past days gives what the numbers were then, from today's
rows, and re-computing a day gives the same row.

Formulas (``day`` is the KPI date, ``end`` = ``day`` + 1 day, midnight UTC):

- revenue_mtd: sum of ``amount`` of the deals that are closed-won at ``end`` and whose
  close date (HubSpot ``closedate``; else when the deal entered closed-won) falls in
  [first day of ``day``'s month, ``end``).
- pipeline_value: WEIGHTED. Sum over deals created before ``end`` and open at ``end`` (any
  stage but closed-won / closed-lost) of ``amount`` x the stage's win probability
  (HubSpot's default pipeline: appointmentscheduled 0.2, qualifiedtobuy 0.4,
  presentationscheduled 0.6, decisionmakerboughtin 0.8, contractsent 0.9; a stage
  outside that pipeline 0.5). The unweighted sum is kept beside it.
- customer_health_score: mean, over the accounts with a call in the 90 days up to
  ``day``, of 100 x (0.5 x S + 0.3 x R + 0.2 x I), where S = (mean call sentiment + 1)
  / 2 (sentiment in [-1, 1], missing = 0), R = max(0, 1 - days since the account's last
  activity (a call or a stage change of one of its deals) / 30), I = 1 / (1 + the
  account's open Linear issues at ``end``; an issue is the account's when its title
  names the account's company). Null when no account had a call.
- competitive_win_rate: won / (won + lost) over the deals with at least one competitor
  mention on a Gong call before ``end`` that closed (won or lost, as of ``end``) in the 90
  days up to ``day``. Null when none closed.
- team_productivity_score: (Linear issues completed + GitHub PRs merged) in the 7 days up
  to ``day``, divided by the people active in those 7 days (assignees of the completed
  issues, creators of issues created, authors of PRs merged or opened). A Linear email
  and a GitHub login are different people until the sources share an identity. Null
  with nobody active.
- llm_cost_efficiency: LLM requests answered (semantic-cache hits included) per USD
  spent that day. Null, not zero, when no LLM is configured or nothing was spent: zero
  would read as "paid and got nothing".
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

WON, LOST = "closedwon", "closedlost"
CLOSED = frozenset({WON, LOST})
STAGE_PROBABILITY: dict[str, float] = {
    "appointmentscheduled": 0.2,
    "qualifiedtobuy": 0.4,
    "presentationscheduled": 0.6,
    "decisionmakerboughtin": 0.8,
    "contractsent": 0.9,
}
UNKNOWN_STAGE_PROBABILITY = 0.5

HEALTH_LOOKBACK_DAYS = 90
RECENCY_HORIZON_DAYS = 30
WIN_RATE_LOOKBACK_DAYS = 90
PRODUCTIVITY_WINDOW_DAYS = 7
HEALTH_WEIGHTS = (0.5, 0.3, 0.2)  # sentiment, recency, open issues


# --- inputs ----------------------------------------------------------------------------


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


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


# --- the KPIs --------------------------------------------------------------------------


def revenue_mtd(deals: Iterable[Deal], day: date) -> tuple[float, int]:
    """(closed-won amount month to date, number of those deals)."""
    _, end = day_bounds(day)
    month_start = datetime(day.year, day.month, 1)
    total, n = 0.0, 0
    for d in deals:
        if d.stage_at(end) != WON:
            continue
        closed = d.closed_on(end)
        if closed is not None and month_start <= closed < end:
            total += d.amount
            n += 1
    return total, n


def stage_probability(stage: str) -> float:
    return STAGE_PROBABILITY.get(stage, UNKNOWN_STAGE_PROBABILITY)


def pipeline_value(deals: Iterable[Deal], day: date) -> tuple[float, float, int]:
    """(weighted, unweighted, open deals) at the end of ``day``."""
    _, end = day_bounds(day)
    weighted = unweighted = 0.0
    n = 0
    for d in deals:
        stage = d.stage_at(end)
        if stage is None or stage in CLOSED:
            continue
        weighted += d.amount * stage_probability(stage)
        unweighted += d.amount
        n += 1
    return weighted, unweighted, n


def account_health(inputs: KpiInputs, day: date) -> dict[str, float]:
    """Account id -> health score (0..100) for the accounts with a recent call."""
    _, end = day_bounds(day)
    since = end - timedelta(days=HEALTH_LOOKBACK_DAYS)
    sentiments: dict[str, list[float]] = {}
    last_activity: dict[str, datetime] = {}

    def touch(account: str | None, at: datetime) -> None:
        if account and at < end and (account not in last_activity or at > last_activity[account]):
            last_activity[account] = at

    for c in inputs.calls:
        if not c.account_id or not since <= c.started_at < end:
            continue
        scores = sentiments.setdefault(c.account_id, [])
        if c.sentiment is not None and not math.isnan(c.sentiment):
            scores.append(c.sentiment)
    for c in inputs.calls:
        touch(c.account_id, c.started_at)
    for d in inputs.deals:
        for at, _ in d.history:
            touch(d.account_id, at)

    open_titles = [i.title.lower() for i in inputs.issues if i.open_at(end)]
    w_sentiment, w_recency, w_issues = HEALTH_WEIGHTS
    scores_by_account: dict[str, float] = {}
    for account, values in sentiments.items():
        s = sum(values) / len(values) if values else 0.0
        days_since = (day - last_activity[account].date()).days
        recency = max(0.0, 1.0 - days_since / RECENCY_HORIZON_DAYS)
        name = inputs.account_names.get(account, "").strip().lower()
        open_issues = sum(1 for t in open_titles if name and name in t)
        scores_by_account[account] = 100.0 * (
            w_sentiment * (s + 1.0) / 2.0 + w_recency * recency + w_issues / (1.0 + open_issues)
        )
    return scores_by_account


def customer_health_score(inputs: KpiInputs, day: date) -> tuple[float | None, int]:
    scores = account_health(inputs, day)
    if not scores:
        return None, 0
    return sum(scores.values()) / len(scores), len(scores)


def competitive_win_rate(inputs: KpiInputs, day: date) -> tuple[float | None, int, int]:
    """(won / (won + lost), won, lost) over competitive deals closed in the lookback."""
    _, end = day_bounds(day)
    since = end - timedelta(days=WIN_RATE_LOOKBACK_DAYS)
    won = lost = 0
    for d in inputs.deals:
        first_mention = inputs.competitive_deals.get(d.deal_id)
        if first_mention is None or first_mention >= end:
            continue
        closed = d.closed_on(end)
        if closed is None or not since <= closed < end:
            continue
        if d.stage_at(end) == WON:
            won += 1
        else:
            lost += 1
    return (won / (won + lost) if won + lost else None), won, lost


def team_productivity(inputs: KpiInputs, day: date) -> tuple[float | None, int, int, int]:
    """(score, issues closed, PRs merged, active people) over the trailing window."""
    _, end = day_bounds(day)
    since = end - timedelta(days=PRODUCTIVITY_WINDOW_DAYS)

    def within(t: datetime | None) -> bool:
        return t is not None and since <= t < end

    active: set[str] = set()
    closed = merged = 0
    for i in inputs.issues:
        if within(i.completed_at):
            closed += 1
            if i.assignee:
                active.add(i.assignee)
        if within(i.created_at) and i.creator:
            active.add(i.creator)
    for pr in inputs.pull_requests:
        if within(pr.merged_at):
            merged += 1
            if pr.author:
                active.add(pr.author)
        if within(pr.created_at) and pr.author:
            active.add(pr.author)
    score = (closed + merged) / len(active) if active else None
    return score, closed, merged, len(active)


def llm_cost_efficiency(inputs: KpiInputs, day: date) -> tuple[float | None, float | None]:
    """(requests per USD, USD spent); both null without a configured LLM."""
    if not inputs.llm_configured:
        return None, None
    usage = inputs.llm_usage.get(day)
    if usage is None or usage.cost_usd <= 0:
        return None, (usage.cost_usd if usage else 0.0)
    return usage.requests / usage.cost_usd, usage.cost_usd


def rollup_day(inputs: KpiInputs, day: date) -> dict[str, Any]:
    revenue, won_mtd = revenue_mtd(inputs.deals, day)
    weighted, unweighted, open_deals = pipeline_value(inputs.deals, day)
    health, accounts = customer_health_score(inputs, day)
    win_rate, comp_won, comp_lost = competitive_win_rate(inputs, day)
    productivity, closed, merged, active = team_productivity(inputs, day)
    efficiency, cost = llm_cost_efficiency(inputs, day)
    return {
        "kpi_date": day,
        "revenue_mtd": revenue,
        "deals_won_mtd": won_mtd,
        "pipeline_value": weighted,
        "pipeline_value_unweighted": unweighted,
        "open_deals": open_deals,
        "customer_health_score": health,
        "accounts_scored": accounts,
        "competitive_win_rate": win_rate,
        "competitive_deals_won": comp_won,
        "competitive_deals_lost": comp_lost,
        "team_productivity_score": productivity,
        "issues_closed": closed,
        "prs_merged": merged,
        "active_people": active,
        "llm_cost_efficiency": efficiency,
        "llm_cost_usd": cost,
    }


def days_in(start: date, end: date) -> list[date]:
    """The days of the half-open window [start, end)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def rollup(inputs: KpiInputs, days: Sequence[date]) -> pd.DataFrame:
    return pd.DataFrame([rollup_day(inputs, d) for d in days])


# --- parsing warehouse rows ------------------------------------------------------------


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


# --- the executive dashboard -----------------------------------------------------------

DASHBOARD_COLUMNS = (
    "total_calls",
    "avg_sentiment",
    "unique_accounts",
    "competitors_mentioned",
    "competitor_mentions",
)


def dashboard_series(df: pd.DataFrame, today: date, days: int = 30) -> pd.DataFrame:
    """The dashboard's rows for the ``days`` days up to ``today``, one per day: days
    without activity get zero counts and a null average sentiment."""
    wanted = [today - timedelta(days=days - 1 - i) for i in range(days)]
    by_day = {pd.Timestamp(r["activity_date"]).date(): r for r in df.to_dict("records")}
    rows = []
    for d in wanted:
        r = by_day.get(d, {})
        avg = r.get("avg_sentiment")
        rows.append(
            {
                "activity_date": d,
                "total_calls": int(r.get("total_calls") or 0),
                "avg_sentiment": None if avg is None or pd.isna(avg) else float(avg),
                "unique_accounts": int(r.get("unique_accounts") or 0),
                "competitors_mentioned": int(r.get("competitors_mentioned") or 0),
                "competitor_mentions": int(r.get("competitor_mentions") or 0),
            }
        )
    return pd.DataFrame(rows, columns=["activity_date", *DASHBOARD_COLUMNS])


# --- competitor alerts -----------------------------------------------------------------


@dataclass(frozen=True)
class AlertRules:
    """When a competitor's day is alert-worthy. A crossing is a day at or above a
    threshold whose previous day was below it, so a level that stays high alerts once."""

    mention_threshold: int = 5  # mentions of one competitor in one day
    threat_level_threshold: int = 4  # highest threat level (1-5) of one day's mentions
    lookback_days: int = 7  # days (up to today) re-examined on every tick


@dataclass(frozen=True)
class Crossing:
    rule: str  # mention_count | threat_level
    competitor: str
    day: date
    value: float
    previous: float
    threshold: float

    @property
    def alert_id(self) -> str:
        """The dedupe key: the same crossing always gets the same id."""
        key = f"{self.rule}|{self.competitor}|{self.day.isoformat()}|{self.threshold:g}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    @property
    def message(self) -> str:
        what = "mentions" if self.rule == "mention_count" else "max threat level"
        return (
            f"{self.competitor}: {what} {self.value:g} on {self.day.isoformat()} "
            f"(threshold {self.threshold:g}, previous day {self.previous:g})"
        )


def competitor_daily_stats(mentions: pd.DataFrame) -> pd.DataFrame:
    """Mention rows (competitor, threat_level, mentioned_at) -> one row per competitor and
    day: mentions, max_threat."""
    if mentions.empty:
        return pd.DataFrame(columns=["competitor", "day", "mentions", "max_threat"])
    df = mentions.assign(day=pd.to_datetime(mentions["mentioned_at"]).dt.date)
    return (
        df.groupby(["competitor", "day"])
        .agg(mentions=("competitor", "size"), max_threat=("threat_level", "max"))
        .reset_index()
    )


def threshold_crossings(
    stats: pd.DataFrame, rules: AlertRules, days: Iterable[date]
) -> list[Crossing]:
    """Crossings on ``days``: value(day) >= threshold > value(day before); a competitor
    with no mentions on a day has 0 mentions and threat level 0 there."""
    values: dict[tuple[str, str, date], float] = {}
    for r in stats.to_dict("records"):
        values[("mention_count", r["competitor"], r["day"])] = float(r["mentions"])
        values[("threat_level", r["competitor"], r["day"])] = float(r["max_threat"])
    thresholds = {
        "mention_count": float(rules.mention_threshold),
        "threat_level": float(rules.threat_level_threshold),
    }
    competitors = sorted({str(c) for c in stats["competitor"]}) if len(stats) else []
    out: list[Crossing] = []
    for day in sorted(set(days)):
        for rule, threshold in thresholds.items():
            for comp in competitors:
                value = values.get((rule, comp, day), 0.0)
                previous = values.get((rule, comp, day - timedelta(days=1)), 0.0)
                if value >= threshold > previous:
                    out.append(Crossing(rule, comp, day, value, previous, threshold))
    return out
