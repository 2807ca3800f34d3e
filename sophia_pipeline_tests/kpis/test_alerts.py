"""The competitor alerts asset against a local webhook (pytest-httpserver): one post per
threshold crossing, retried on 500 inside the run, never repeated by a re-run."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sophia_pipeline.defs import alerts
from sophia_pipeline.defs.keys import ALERTS_KEY
from sophia_pipeline.resources.alerts import CompetitorAlertRules, WebhookAlertPoster
from sophia_pipeline.settings import load_settings
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.kpis.dataset import mention_row

RULES = CompetitorAlertRules(mention_threshold=5, threat_level_threshold=4, lookback_days=7)


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    wh.ensure_schema()
    return wh


def days_ago(n: int) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, hour=12, minute=0) - timedelta(days=n)


def add_mentions(wh: DuckDBWarehouse, competitor: str, day: int, count: int, threat: int) -> None:
    at = days_ago(day)
    wh.insert(
        "competitive_intelligence.competitor_mentions",
        pd.DataFrame(
            [
                mention_row(
                    f"{competitor}-{day}-{i}", competitor, at, source="slack", threat=threat
                )
                for i in range(count)
            ]
        ),
    )


def poster(httpserver: HTTPServer) -> WebhookAlertPoster:
    return WebhookAlertPoster(
        webhook_url=httpserver.url_for("/hooks/alerts"), base_delay_s=0.01, max_delay_s=0.05
    )


def tick(wh: DuckDBWarehouse, alert_poster: WebhookAlertPoster) -> str:
    """One run of the alerts asset (what automation launches); its summary metadata."""
    result = dg.materialize(
        alerts.build_assets(load_settings()),
        resources={"warehouse": wh, "alert_poster": alert_poster, "alert_rules": RULES},
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node(ALERTS_KEY.to_python_identifier())
    (check,) = result.get_asset_check_evaluations()
    failed = mat.metadata["failed"].value
    assert check.passed == (failed == 0)
    return str(mat.metadata["summary"].value)


def posted_bodies(httpserver: HTTPServer) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log]


def test_one_post_per_crossing_retried_on_500_and_never_repeated(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    # Clari: 2 mentions (threat 2) three days ago, 6 (threat 4) two days ago, 7 (threat 4)
    # yesterday: one mention-count crossing and one threat crossing, two days ago.
    add_mentions(warehouse, "Clari", 3, 2, 2)
    add_mentions(warehouse, "Clari", 2, 6, 4)
    add_mentions(warehouse, "Clari", 1, 7, 4)
    # Zoho: nothing, then 5 mentions yesterday: one mention-count crossing.
    add_mentions(warehouse, "Zoho", 1, 5, 1)
    # Gong: 4 mentions, below every threshold.
    add_mentions(warehouse, "Gong", 1, 4, 3)

    statuses = iter([500])  # the very first delivery attempt fails, then all succeed

    def respond(request: Request) -> Response:
        status = next(statuses, 200)
        return Response("ok" if status == 200 else "server error", status=status)

    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_handler(respond)
    summary = tick(warehouse, poster(httpserver))
    assert "3 posted" in summary, summary

    bodies = posted_bodies(httpserver)
    assert len(bodies) == 4  # 3 alerts + 1 retry of the first after its 500
    assert bodies[0] == bodies[1]  # the retry resent the same alert
    delivered = {(b["alert"]["rule"], b["alert"]["competitor"]) for b in bodies}
    assert delivered == {
        ("mention_count", "Clari"),
        ("threat_level", "Clari"),
        ("mention_count", "Zoho"),
    }
    assert all(b["text"].startswith(":rotating_light: Competitor alert:") for b in bodies)
    headers = {req.headers["X-Sophia-Alert-Id"] for req, _ in httpserver.log}
    assert headers == {b["alert"]["id"] for b in bodies}

    table = warehouse.query("SELECT * FROM executive_intelligence.alerts ORDER BY attempts DESC")
    assert len(table) == 3 and set(table["status"]) == {"posted"}
    assert list(table["attempts"]) == [2, 1, 1]
    assert table["posted_at"].notna().all()

    # Re-runs: nothing new, nothing re-posted.
    for _ in range(2):
        assert "3 already handled" in tick(warehouse, poster(httpserver))
    assert len(httpserver.log) == 4

    # A new crossing (Gong reaches 5 today): exactly one more post.
    add_mentions(warehouse, "Gong", 0, 5, 3)
    assert "1 posted" in tick(warehouse, poster(httpserver))
    assert len(httpserver.log) == 5
    assert posted_bodies(httpserver)[-1]["alert"]["competitor"] == "Gong"
    assert warehouse.count("executive_intelligence.alerts") == 4


def test_a_failed_delivery_is_recorded_and_retried_on_later_runs_a_bounded_number_of_times(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    add_mentions(warehouse, "Clari", 1, 6, 1)
    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_data("down", status=503)
    p = poster(httpserver)
    assert "1 failed" in tick(warehouse, p)
    assert len(httpserver.log) == p.max_attempts
    row = warehouse.query("SELECT status, attempts, last_error FROM executive_intelligence.alerts")
    assert row.iloc[0]["status"] == "failed" and "HTTP 503" in row.iloc[0]["last_error"]
    for _ in range(alerts.MAX_DELIVERY_ROUNDS + 1):
        tick(warehouse, p)
    assert len(httpserver.log) == alerts.MAX_DELIVERY_ROUNDS * p.max_attempts
    assert warehouse.count("executive_intelligence.alerts") == 1


def test_without_a_webhook_alerts_are_recorded_unsent(warehouse: DuckDBWarehouse) -> None:
    add_mentions(warehouse, "Clari", 1, 6, 1)
    assert "1 recorded unsent" in tick(warehouse, WebhookAlertPoster())
    assert "1 already handled" in tick(warehouse, WebhookAlertPoster())
    status = warehouse.query("SELECT status FROM executive_intelligence.alerts")["status"]
    assert list(status) == ["unsent"]


def test_a_redirect_is_a_failed_delivery_not_followed_and_tried_again_later(
    httpserver: HTTPServer, warehouse: DuckDBWarehouse
) -> None:
    add_mentions(warehouse, "Clari", 1, 6, 1)
    # A webhook URL holds a secret: a redirect of it is suspicious, never "delivered".
    httpserver.expect_request("/elsewhere").respond_with_data("taken")
    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_data(
        "moved", status=301, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    p = poster(httpserver)
    assert "1 failed" in tick(warehouse, p)
    assert [req.path for req, _ in httpserver.log] == ["/hooks/alerts"]  # not followed
    row = warehouse.query("SELECT status, posted_at, last_error FROM executive_intelligence.alerts")
    assert row.iloc[0]["status"] == "failed" and "HTTP 301" in row.iloc[0]["last_error"]
    assert pd.isna(row.iloc[0]["posted_at"])
    # A later run tries it again (the bounded rounds of the 503 test above).
    assert "1 failed" in tick(warehouse, p)
    assert [req.path for req, _ in httpserver.log] == ["/hooks/alerts"] * 2


@pytest.mark.parametrize("status", [200, 301, 503])
def test_the_webhook_token_appears_in_no_log(
    status: int, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = "T0K3N-sophia-4f1c9e"
    path = f"/services/T01/B02/{token}"
    httpserver.expect_request(path, method="POST").respond_with_data("x", status=status)
    # Everything, httpx's request line (INFO) and httpcore's traces (DEBUG) included.
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    p = WebhookAlertPoster(
        webhook_url=httpserver.url_for(path), base_delay_s=0.01, max_delay_s=0.02, max_attempts=2
    )
    delivery = p.post({"text": "hi"}, "alert-1")
    assert delivery.ok == (status == 200)
    # The client's side only: werkzeug is the test's server, logging the path it was sent.
    records = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    assert any(r.name == "httpx" for r in records)  # the request line was logged
    logged = "".join(f"{r.getMessage()} {r.args!r} {r.msg!r}\n" for r in records)
    assert token not in logged
    assert str(httpserver.port) in logged  # the host is still there to debug with
