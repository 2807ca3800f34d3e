"""Competitor alerts, pure: per-day mention stats and the threshold crossings in them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd


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
