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

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from .inputs import CLOSED, WON, Deal, KpiInputs

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


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


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
