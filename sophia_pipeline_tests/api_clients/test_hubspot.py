from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug import Request

from sophia_pipeline.reliability import HttpClientConfig, RateLimit
from sophia_pipeline.resources.api_clients import HubSpotClient
from sophia_pipeline.resources.api_clients.hubspot import hubspot_pause_hint
from sophia_pipeline_tests.api_clients.conftest import assert_retry_after_waited, no_secret
from sophia_pipeline_tests.reliability.fault_server import (
    FaultServer,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

TOKEN = "pat-na1-5e0c7b7e-hubspot-secret"
T0 = datetime(2026, 2, 1, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeHubSpot:
    """Companies (live + archived) for list paging; contacts for search."""

    def __init__(self) -> None:
        self.companies = [{"id": f"co{i}", "properties": {"name": f"Co {i}"}} for i in range(5)]
        self.archived = [{"id": "co-old", "properties": {"name": "Gone"}, "archived": True}]
        self.contacts: dict[str, datetime] = {
            "k1": T0 + timedelta(minutes=1),
            "k2": T0 + timedelta(minutes=2),
            # Three records share one stamp: more than a page (2) holds.
            "k3": T0 + timedelta(minutes=3),
            "k4": T0 + timedelta(minutes=3),
            "k5": T0 + timedelta(minutes=3),
            "k6": T0 + timedelta(minutes=4),
            "k7": T0 + timedelta(minutes=5),
            "k0": T0 - timedelta(minutes=1),  # before the window
        }
        self.searches = 0

    def list(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        rows = self.archived if request.args.get("archived") == "true" else self.companies
        limit = int(request.args["limit"])
        start = int(request.args.get("after", 0))
        body: dict[str, Any] = {"results": rows[start : start + limit]}
        if start + limit < len(rows):
            body["paging"] = {"next": {"after": str(start + limit), "link": "ignored"}}
        return 200, body, {"X-HubSpot-RateLimit-Remaining": "99"}

    def search(self, request: Request) -> dict[str, Any]:
        body = request.get_json()
        self.searches += 1
        if self.searches == 2:
            # k1 was returned by the first search; it changes while we page.
            self.contacts["k1"] = T0 + timedelta(minutes=9)
        flt = {f["operator"]: int(f["value"]) for f in body["filterGroups"][0]["filters"]}
        rows = sorted(
            (t, cid)
            for cid, t in self.contacts.items()
            if t.timestamp() * 1000 >= flt["GTE"]
            and ("LT" not in flt or t.timestamp() * 1000 < flt["LT"])
        )
        start, limit = int(body.get("after") or 0), body["limit"]
        page = rows[start : start + limit]
        out: dict[str, Any] = {
            "total": len(rows),
            "results": [
                {"id": cid, "properties": {"lastmodifieddate": _iso(t), "hs_object_id": cid}}
                for t, cid in page
            ],
        }
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out


def test_list_and_archived_survive_every_fault(
    fault_server: FaultServer,
    redis_client: object,
    redis_url: str,
    fast_config: HttpClientConfig,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    fake = FakeHubSpot()
    fault_server.route("GET", "/crm/v3/objects/companies", fake.list)
    fault_server.inject(
        "GET", "/crm/v3/objects/companies", RateLimited("1"), Status(500), Slow(0.6), Truncated()
    )
    with HubSpotClient(
        TOKEN, base_url=fault_server.url, redis=redis_url, config=fast_config, page_size=2
    ) as hubspot:
        live = [c["id"] for c in hubspot.list_objects("companies", properties=["name"])]
        gone = [c["id"] for c in hubspot.list_archived("companies")]
    assert live == [f"co{i}" for i in range(5)]
    assert gone == ["co-old"]
    assert len([h for h in fault_server.hits if h.fault]) == 4
    assert_retry_after_waited(fault_server)
    pages = [h for h in fault_server.hits if not h.fault]
    assert [h.args.get("after") for h in pages] == [None, "2", "4", None]
    assert pages[0].args["properties"] == "name"
    no_secret(debug_logs, TOKEN)


def test_search_is_keyset_paged_and_misses_nothing(
    fault_server: FaultServer, redis_client: object, redis_url: str, fast_config: HttpClientConfig
) -> None:
    fake = FakeHubSpot()
    fault_server.route("POST", "/crm/v3/objects/contacts/search", fake.search)
    fault_server.inject("POST", "/crm/v3/objects/contacts/search", Status(502), Truncated())
    with HubSpotClient(
        TOKEN,
        base_url=fault_server.url,
        redis=redis_url,
        config=fast_config,
        page_size=2,
        search_rate_limit=RateLimit(requests=200),
    ) as hubspot:
        got = [
            (r["id"], r["properties"]["lastmodifieddate"])
            for r in hubspot.search_modified("contacts", T0)
        ]
    assert len(got) == len(set(got))  # every version once
    ids = [cid for cid, _ in got]
    assert sorted(set(ids)) == ["k1", "k2", "k3", "k4", "k5", "k6", "k7"]
    # k1 arrives twice: its old version, then the version written mid-run, last.
    assert ids.count("k1") == 2 and got[-1] == ("k1", _iso(T0 + timedelta(minutes=9)))
    bodies = [h.json for h in fault_server.hits if not h.fault]
    assert all(b["sorts"][0]["propertyName"] == "lastmodifieddate" for b in bodies)
    assert any("after" in b for b in bodies)  # paged within the shared stamp


def test_quota_headers_pause_every_worker(
    fault_server: FaultServer, redis_client: object, redis_url: str, fast_config: HttpClientConfig
) -> None:
    pages = iter(
        [
            (
                200,
                {"results": [{"id": "a"}], "paging": {"next": {"after": "1"}}},
                {
                    "X-HubSpot-RateLimit-Remaining": "0",
                    "X-HubSpot-RateLimit-Interval-Milliseconds": "400",
                },
            ),
            (200, {"results": [{"id": "b"}]}, {"X-HubSpot-RateLimit-Remaining": "5"}),
        ]
    )
    fault_server.route("GET", "/crm/v3/objects/deals", lambda r: next(pages))
    with HubSpotClient(
        TOKEN, base_url=fault_server.url, redis=redis_url, config=fast_config
    ) as hubspot:
        assert [d["id"] for d in hubspot.list_objects("deals")] == ["a", "b"]
    first, second = fault_server.hits_for("GET", "/crm/v3/objects/deals")
    assert second.t - first.t >= 0.4


def test_pause_hint_reads_hubspot_headers() -> None:
    import httpx

    def hint(headers: dict[str, str]) -> float | None:
        return hubspot_pause_hint(httpx.Response(200, headers=headers))

    assert hint({}) is None
    assert hint({"X-HubSpot-RateLimit-Remaining": "3"}) is None
    assert (
        hint(
            {
                "X-HubSpot-RateLimit-Remaining": "0",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            }
        )
        == 10.0
    )
    assert hint({"X-HubSpot-RateLimit-Secondly-Remaining": "0"}) == 1.0
