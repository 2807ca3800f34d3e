"""Posting alerts to a webhook (a Slack incoming webhook, an n8n webhook node, ...).

One alert is one JSON POST: ``text`` (what Slack shows) plus ``alert`` (the structured
fields, for n8n or anything else), and an ``X-Sophia-Alert-Id`` header carrying the
dedupe key so a receiver can drop a repeat. 5xx, 429 and connection errors are retried
with jittered exponential backoff (the reliability layer's policy, honouring
Retry-After); other 4xx and every 3xx (never followed) fail at once. The webhook URL
is a secret (Slack's carries the token in its path): it is never logged, only its host,
and httpx's own request log masks its path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import httpx

from sophia_pipeline.reliability.errors import HttpStatusError
from sophia_pipeline.reliability.http import hide_in_http_logs
from sophia_pipeline.reliability.retry import RetryConfig, describe_exception, retrying

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None


class WebhookAlertPoster(dg.ConfigurableResource):
    """``webhook_url`` unset: alerts are recorded, not posted (``configured`` is False)."""

    webhook_url: str | None = None
    timeout_s: float = 10.0
    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    # A sensor tick has about a minute; leave room for the warehouse writes around it.
    max_total_s: float = 30.0

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url)

    def _safe_url(self) -> str:
        parts = urlsplit(self.webhook_url or "")
        return f"{parts.scheme}://{parts.hostname}/..."

    def post(self, payload: dict[str, Any], alert_id: str) -> Delivery:
        if not self.webhook_url:
            return Delivery(ok=False, attempts=0, error="no webhook configured")
        config = RetryConfig(
            max_attempts=self.max_attempts,
            base_delay_s=self.base_delay_s,
            max_delay_s=max(self.max_delay_s, self.base_delay_s),
            max_total_s=self.max_total_s,
        )
        attempts = 0
        url = self.webhook_url
        safe = self._safe_url()
        hide_in_http_logs(url)  # httpx logs each request's URL at INFO: the token with it

        def attempt(client: httpx.Client) -> int:
            nonlocal attempts
            attempts += 1
            response = client.post(url, json=payload, headers={"X-Sophia-Alert-Id": alert_id})
            # Only 2xx is delivered. A 3xx is not followed either: a redirect of a URL that
            # holds a secret is suspicious, so it is a failure, tried again by later runs.
            if not 200 <= response.status_code < 300:
                retry_after = response.headers.get("retry-after")
                raise HttpStatusError(
                    dependency="alert_webhook",
                    method="POST",
                    url=safe,
                    status_code=response.status_code,
                    retry_after_s=float(retry_after)
                    if retry_after and retry_after.isdigit()
                    else None,
                )
            return response.status_code

        try:
            with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
                status = retrying(config, name="alert_webhook")(attempt, client)
        except Exception as exc:
            # Never the URL: httpx's messages can carry it.
            reason = (
                describe_exception(exc) if isinstance(exc, HttpStatusError) else type(exc).__name__
            )
            log.warning("alert %s not delivered to %s: %s", alert_id, safe, reason)
            code = exc.status_code if isinstance(exc, HttpStatusError) else None
            return Delivery(ok=False, attempts=attempts, status_code=code, error=reason)
        return Delivery(ok=True, attempts=attempts, status_code=status)


class CompetitorAlertRules(dg.ConfigurableResource):
    """Thresholds of the competitor alert sensor (see processing/kpis/alerts.py: AlertRules)."""

    mention_threshold: int = 5
    threat_level_threshold: int = 4
    lookback_days: int = 7
