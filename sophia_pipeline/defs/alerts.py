"""Competitor alerts: an asset that posts threshold crossings to a webhook, once each.

``executive/competitor_alerts`` runs (automation: whenever a partition of the competitor
mentions is updated; or by hand) and re-examines the last ``lookback_days`` days of
competitor mentions (late data still alerts), finds the days where a competitor's
mention count or highest threat level crossed its threshold (processing/kpis/alerts.py:
threshold_crossings), and posts the crossings not posted before, each with the poster's
own retries (jittered exponential backoff) inside the run. EXECUTIVE_INTELLIGENCE.ALERTS
holds one row per alert under its dedupe key, so a re-run finds it and posts nothing. A
delivery that failed after its retries is tried again by later runs, a bounded number of
times; the ``alerts_delivered`` check fails while one is undelivered.

The poster (``alert_poster``) and the thresholds (``alert_rules``) are resources
registered in ``defs/resources.py`` from ``AlertSettings`` (``settings.py``):
``SOPHIA_ALERT_WEBHOOK_URL`` (a secret, passed as an EnvVar; unset: alerts are recorded
with status ``unsent``),
``SOPHIA_ALERT_MENTION_THRESHOLD`` (default 5), ``SOPHIA_ALERT_THREAT_LEVEL`` (default
4), ``SOPHIA_ALERT_LOOKBACK_DAYS`` (default 7).
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from sophia_pipeline.defs.keys import ALERTS_KEY, EXECUTIVE, MENTIONS_KEY
from sophia_pipeline.defs.kinds import warehouse_kind
from sophia_pipeline.defs.policies import IO_RETRY, ON_INPUT_CHANGE, OWNERS, SINGLE_RUN
from sophia_pipeline.processing.kpis.alerts import (
    AlertRules,
    Crossing,
    competitor_daily_stats,
    threshold_crossings,
)
from sophia_pipeline.resources.alerts import CompetitorAlertRules, Delivery, WebhookAlertPoster
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.store import executive, intelligence
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.warehouse import Warehouse

# Runs in which a failed delivery is tried again (each with the poster's own retries).
MAX_DELIVERY_ROUNDS = 3


@dataclass(frozen=True)
class AlertSummary:
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


def evaluate_alerts(
    warehouse: Warehouse, poster: WebhookAlertPoster, rules: AlertRules, today: date
) -> AlertSummary:
    days = [today - timedelta(days=i) for i in range(rules.lookback_days)]
    # One more day back: a crossing compares with the day before.
    mentions = intelligence.competitor_mentions_between(
        warehouse, min(days) - timedelta(days=1), today + timedelta(days=1)
    )
    crossings = threshold_crossings(competitor_daily_stats(mentions), rules, days)
    known = executive.known_alerts(warehouse, [c.alert_id for c in crossings])
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
    executive.write_alerts(warehouse, rows)
    return AlertSummary(len(crossings), posted, failed, unsent, handled)


def rules_of(alert_rules: CompetitorAlertRules) -> AlertRules:
    return AlertRules(
        mention_threshold=alert_rules.mention_threshold,
        threat_level_threshold=alert_rules.threat_level_threshold,
        lookback_days=alert_rules.lookback_days,
    )


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=ALERTS_KEY,
        deps=[MENTIONS_KEY],
        group_name=EXECUTIVE,
        kinds={"python", warehouse_kind(settings), "webhook"},
        owners=OWNERS,
        retry_policy=IO_RETRY,
        # Not partitioned; single_run lets a CLI range backfill upstream include it once.
        backfill_policy=SINGLE_RUN,
        automation_condition=ON_INPUT_CHANGE,
        check_specs=[dg.AssetCheckSpec("alerts_delivered", asset=ALERTS_KEY)],
        description=(__doc__ or "").split("\n\n", 1)[1].strip(),
    )
    def competitor_alerts(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        alert_poster: WebhookAlertPoster,
        alert_rules: CompetitorAlertRules,
    ):  # type: ignore[no-untyped-def]
        today = datetime.now(UTC).date()
        summary = evaluate_alerts(warehouse, alert_poster, rules_of(alert_rules), today)
        context.log.info(str(summary))
        yield dg.MaterializeResult(
            metadata={
                "crossings": summary.crossings,
                "posted": summary.posted,
                "failed": summary.failed,
                "unsent": summary.unsent,
                "already_handled": summary.already_handled,
                "summary": str(summary),
            }
        )
        yield dg.AssetCheckResult(
            check_name="alerts_delivered",
            passed=summary.failed == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"failed": summary.failed},
        )

    return [competitor_alerts]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_assets(current_settings()))
