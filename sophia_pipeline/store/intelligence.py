"""GONG_INTELLIGENCE (call transcripts and summaries) and COMPETITIVE_INTELLIGENCE
(competitor mentions of every source)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from .common import placeholders
from .staging import replace_for_window_docs
from .warehouse import Warehouse

MENTIONS_TABLE = "competitive_intelligence.competitor_mentions"
TRANSCRIPTS_TABLE = "gong_intelligence.call_transcripts"
SUMMARIES_TABLE = "gong_intelligence.call_summaries"

# --- competitor mentions -------------------------------------------------------------------


def write_competitor_mentions(wh: Warehouse, df: pd.DataFrame, start: date, end: date) -> int:
    """The mentions of the window's documents become exactly ``df`` (mentions of a
    document that moved into the window go with it)."""
    return replace_for_window_docs(wh, MENTIONS_TABLE, df, start, end)


def gong_mentions(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    return wh.query(
        "SELECT * FROM competitive_intelligence.competitor_mentions "
        "WHERE source = 'gong' AND partition_date >= ? AND partition_date < ?",
        [start, end],
    )


def first_mention_per_deal(wh: Warehouse) -> pd.DataFrame:
    """Each deal's first competitor mention on a Gong call (deal_id, mentioned_at)."""
    return wh.query(
        "SELECT deal_id, MIN(mentioned_at) AS mentioned_at "
        "FROM competitive_intelligence.competitor_mentions "
        "WHERE source = 'gong' AND deal_id IS NOT NULL GROUP BY deal_id"
    )


def mentions_since(wh: Warehouse, since: date) -> pd.DataFrame:
    """Competitor, threat level and time of every mention from ``since`` on."""
    return wh.query(
        "SELECT competitor, threat_level, mentioned_at "
        "FROM competitive_intelligence.competitor_mentions WHERE mentioned_at >= ?",
        [since],
    )


def competitor_totals_since(wh: Warehouse, since: date) -> pd.DataFrame:
    """Per competitor from ``since`` on: mentions, highest and mean threat, mean
    sentiment, last mention; most mentioned first."""
    return wh.query(
        "SELECT competitor, COUNT(*) AS mentions, MAX(threat_level) AS max_threat, "
        "AVG(threat_level) AS avg_threat, AVG(sentiment) AS avg_sentiment, "
        "MAX(mentioned_at) AS last_mentioned_at "
        "FROM competitive_intelligence.competitor_mentions WHERE mentioned_at >= ? "
        "GROUP BY competitor ORDER BY mentions DESC, competitor",
        [since],
    )


def competitor_days_since(wh: Warehouse, since: date) -> pd.DataFrame:
    """Mentions and highest threat per competitor and day from ``since`` on."""
    return wh.query(
        "SELECT competitor, CAST(mentioned_at AS DATE) AS day, COUNT(*) AS mentions, "
        "MAX(threat_level) AS max_threat "
        "FROM competitive_intelligence.competitor_mentions WHERE mentioned_at >= ? "
        "GROUP BY competitor, CAST(mentioned_at AS DATE) ORDER BY day, competitor",
        [since],
    )


# --- call transcripts ----------------------------------------------------------------------


def write_call_transcripts(wh: Warehouse, df: pd.DataFrame, start: date, end: date) -> int:
    """The calls of the window (by call date) become exactly ``df``."""
    return wh.replace_window(TRANSCRIPTS_TABLE, df, "call_date", start, end)


def duplicate_calls(wh: Warehouse) -> int:
    """Rows beyond one per call id (zero when every call has one row)."""
    df = wh.query(
        "SELECT COUNT(*) - COUNT(DISTINCT call_id) AS n FROM gong_intelligence.call_transcripts"
    )
    return int(df["n"].iloc[0])


def calls_between(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """The calls of the days [start, end), with what the KPI formulas read."""
    return wh.query(
        "SELECT call_id, account_id, deal_id, started_at, sentiment_score "
        "FROM gong_intelligence.call_transcripts WHERE call_date >= ? AND call_date < ?",
        [start, end],
    )


def call_summary(wh: Warehouse, call_id: str) -> pd.DataFrame:
    """One call's summary columns (no row when the call does not exist)."""
    return wh.query(
        "SELECT call_id, title, call_date, started_at, duration_s, account_id, deal_id, "
        "rep_email, turn_count, sentiment_score, competitive_mentions, talking_points_used, "
        "outcome_category FROM gong_intelligence.call_transcripts WHERE call_id = ?",
        [call_id],
    )


def competitor_mentions_between(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Competitor, threat level and time of every mention in [start, end)."""
    return wh.query(
        "SELECT competitor, threat_level, mentioned_at "
        f"FROM {MENTIONS_TABLE} "
        "WHERE mentioned_at >= ? AND mentioned_at < ?",
        [start, end],
    )


# --- call summaries ------------------------------------------------------------------------


def write_call_summaries(wh: Warehouse, df: pd.DataFrame, start: date, end: date) -> int:
    """The summaries of the window's calls (by call date) become exactly ``df``."""
    return wh.replace_window(SUMMARIES_TABLE, df, "call_date", start, end)


def call_summaries_between(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """The stored summaries of the calls of the days [start, end)."""
    return wh.query(
        f"SELECT * FROM {SUMMARIES_TABLE} WHERE call_date >= ? AND call_date < ? ORDER BY call_id",
        [start, end],
    )


# --- reads of the serving layer ------------------------------------------------------------


@dataclass(frozen=True)
class MentionFilter:
    """Which competitor mentions a read covers; each field only when given."""

    competitor: str | None = None  # any case
    sources: Sequence[str] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    account_id: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE condition and its parameters: every value is a parameter."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if self.competitor is not None:
            where.append("LOWER(competitor) = LOWER(?)")
            params.append(self.competitor)
        if self.sources:
            where.append(f"source IN ({placeholders(self.sources)})")
            params.extend(self.sources)
        if self.since is not None:
            where.append("mentioned_at >= ?")
            params.append(self.since)
        if self.until is not None:
            where.append("mentioned_at < ?")
            params.append(self.until)
        if self.account_id is not None:
            where.append("account_id = ?")
            params.append(self.account_id)
        return " AND ".join(where), params


def find_mentions(wh: Warehouse, which: MentionFilter, limit: int = 50) -> pd.DataFrame:
    """The mentions ``which`` covers, newest first, at most ``limit``."""
    where, params = which.where()
    return wh.query(
        "SELECT mention_id, chunk_id, doc_id, source, competitor, alias, matched_text, context, "
        f"sentiment, threat_level, account_id, deal_id, mentioned_at FROM {MENTIONS_TABLE} "
        f"WHERE {where} ORDER BY mentioned_at DESC, mention_id LIMIT ?",
        [*params, int(limit)],
    )


def mention_summary(wh: Warehouse, which: MentionFilter) -> pd.DataFrame:
    """Per competitor over everything ``which`` covers (not one page of it): mentions,
    highest and mean threat, last mention; most mentioned first."""
    where, params = which.where()
    return wh.query(
        "SELECT competitor, COUNT(*) AS mentions, MAX(threat_level) AS max_threat, "
        "ROUND(AVG(threat_level), 3) AS avg_threat, MAX(mentioned_at) AS last_mentioned_at "
        f"FROM {MENTIONS_TABLE} WHERE {where} GROUP BY competitor "
        "ORDER BY mentions DESC, competitor",
        params,
    )


def account_calls(wh: Warehouse, account_id: str, limit: int) -> pd.DataFrame:
    """The account's most recent calls (newest first, at most ``limit``), with sentiment."""
    return wh.query(
        "SELECT call_id, doc_id, title, call_date, started_at, duration_s, deal_id, rep_email, "
        f"sentiment_score, outcome_category FROM {TRANSCRIPTS_TABLE} "
        "WHERE account_id = ? ORDER BY started_at DESC, call_id LIMIT ?",
        [account_id, int(limit)],
    )
