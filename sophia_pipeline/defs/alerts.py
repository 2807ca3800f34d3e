"""Competitor alerts: a sensor that posts threshold crossings to a webhook, once each.

Every tick re-examines the last ``lookback_days`` days of competitor mentions (late data
still alerts), finds the days where a competitor's mention count or highest threat level
crossed its threshold (processing/kpis/alerts.py: threshold_crossings), and posts the crossings
not posted before. EXECUTIVE_INTELLIGENCE.ALERTS records each one under its dedupe key,
so a re-tick finds it and posts nothing. A delivery that failed after its retries is
tried again on later ticks, a bounded number of times.

Configuration: ``AlertSettings`` in ``settings.py`` (``SOPHIA_ALERT_*``). The webhook URL
is a secret, passed as an EnvVar; unset, alerts are recorded with status ``unsent``.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd

from sophia_pipeline.processing.kpis.alerts import (
    AlertRules,
    Crossing,
    competitor_daily_stats,
    threshold_crossings,
)
from sophia_pipeline.resources.alerts import CompetitorAlertRules, Delivery, WebhookAlertPoster
from sophia_pipeline.settings import current_settings
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.warehouse import Warehouse

ALERTS_TABLE = "executive_intelligence.alerts"
# Ticks on which a failed delivery is tried again (each with the poster's own retries).
MAX_DELIVERY_ROUNDS = 3


@dataclass(frozen=True)
class TickSummary:
    crossings: int
    posted: int
    failed: int
    unsent: int
    already_handled: int

    def __str__(self) -> str:
        return (
            f"{self.crossings} crossing(s) in the window: {self.posted} posted, "
            f"{self.failed} failed, {self.unsent} recorded unsent (no webhook), "
            f"{self.already_handled} already handled"
        )


def alert_payload(c: Crossing) -> dict[str, object]:
    return {
        "text": f":rotating_light: Competitor alert: {c.message}",
        "alert": {
            "id": c.alert_id,
            "rule": c.rule,
            "competitor": c.competitor,
            "day": c.day.isoformat(),
            "value": c.value,
            "previous": c.previous,
            "threshold": c.threshold,
        },
    }


def _known(warehouse: Warehouse, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    ph = ", ".join("?" for _ in ids)
    df = warehouse.query(
        f"SELECT alert_id, status, attempts, created_at FROM {ALERTS_TABLE} "
        f"WHERE alert_id IN ({ph})",
        ids,
    )
    return {r["alert_id"]: r for r in df.to_dict("records")}


def evaluate_alerts(
    warehouse: Warehouse, poster: WebhookAlertPoster, rules: AlertRules, today: date
) -> TickSummary:
    days = [today - timedelta(days=i) for i in range(rules.lookback_days)]
    mentions = warehouse.query(
        "SELECT competitor, threat_level, mentioned_at "
        "FROM competitive_intelligence.competitor_mentions "
        "WHERE mentioned_at >= ? AND mentioned_at < ?",
        # One more day back: a crossing compares with the day before.
        [min(days) - timedelta(days=1), today + timedelta(days=1)],
    )
    crossings = threshold_crossings(competitor_daily_stats(mentions), rules, days)
    known = _known(warehouse, [c.alert_id for c in crossings])
    rows, posted, failed, unsent, handled = [], 0, 0, 0, 0
    for c in crossings:
        prior = known.get(c.alert_id)
        attempts = int(prior["attempts"]) if prior else 0
        if prior and (
            prior["status"] != "failed" or attempts >= MAX_DELIVERY_ROUNDS * poster.max_attempts
        ):
            handled += 1
            continue
        payload = alert_payload(c)
        delivery = (
            poster.post(payload, c.alert_id)
            if poster.configured
            else Delivery(False, 0, None, None)
        )
        status = "posted" if delivery.ok else ("failed" if poster.configured else "unsent")
        posted += status == "posted"
        failed += status == "failed"
        unsent += status == "unsent"
        rows.append(
            {
                "alert_id": c.alert_id,
                "rule": c.rule,
                "competitor": c.competitor,
                "alert_date": c.day,
                "metric_value": c.value,
                "previous_value": c.previous,
                "threshold": c.threshold,
                "message": c.message,
                "payload": json.dumps(payload, sort_keys=True),
                "status": status,
                "attempts": attempts + delivery.attempts,
                "last_error": delivery.error,
                "created_at": prior["created_at"] if prior else now_utc(),
                "posted_at": now_utc() if delivery.ok else None,
            }
        )
    warehouse.replace_keys(ALERTS_TABLE, pd.DataFrame(rows), "alert_id")
    return TickSummary(len(crossings), posted, failed, unsent, handled)


@dg.sensor(
    name="competitor_threat_alerts",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(__doc__ or "").strip(),
)
def competitor_threat_alerts(
    context: dg.SensorEvaluationContext,
    warehouse: Warehouse,
    alert_poster: WebhookAlertPoster,
    alert_rules: CompetitorAlertRules,
) -> dg.SkipReason:
    rules = AlertRules(
        mention_threshold=alert_rules.mention_threshold,
        threat_level_threshold=alert_rules.threat_level_threshold,
        lookback_days=alert_rules.lookback_days,
    )
    summary = evaluate_alerts(warehouse, alert_poster, rules, datetime.now(UTC).date())
    context.log.info(str(summary))
    # The sensor launches no runs: its work is the posting, reported as the tick's text.
    return dg.SkipReason(str(summary))


@dg.definitions
def defs() -> dg.Definitions:
    alerts = current_settings().alerts
    webhook = dg.EnvVar("SOPHIA_ALERT_WEBHOOK_URL") if alerts.webhook_url else None
    return dg.Definitions(
        sensors=[competitor_threat_alerts],
        resources={
            "alert_poster": WebhookAlertPoster(webhook_url=webhook),
            "alert_rules": CompetitorAlertRules(
                mention_threshold=alerts.mention_threshold,
                threat_level_threshold=alerts.threat_level,
                lookback_days=alerts.lookback_days,
            ),
        },
    )
