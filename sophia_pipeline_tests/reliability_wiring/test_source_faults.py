"""A whole run against a misbehaving source: HubSpot's raw asset and documents, through
the production reader, with 429 storms, 5xx, slow and truncated answers, a search that
repeats or skips a page, and records that change between two pages. In the end every
record is stored exactly once per version and documented once, and what could not be
parsed sits in the dead-letter table with the reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from werkzeug import Request

from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.reliability import InvalidResponseError
from sophia_pipeline.resources.api_clients import HubSpotClient, LinearClient
from sophia_pipeline.resources.prod_readers import HubSpotApiReader, LinearApiReader
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.api_clients.conftest import FAST
from sophia_pipeline_tests.reliability.fault_server import (
    BadJson,
    FaultServer,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

DAY = date(2026, 9, 2)
T0 = datetime(2026, 9, 2, 8, tzinfo=UTC)
TYPES = ("companies", "contacts", "deals")
PROP = {"companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate",
        "contacts": "lastmodifieddate"}  # fmt: skip


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeHubSpot:
    """CRM search over three object types, keyset-filtered and sorted like HubSpot's,
    with page-level misbehaviour on demand (per object type, by request number)."""

    def __init__(self, server: FaultServer, per_type: int = 7) -> None:
        self.records: dict[str, dict[str, datetime]] = {
            t: {f"{t[:3]}{i}": T0 + timedelta(minutes=i) for i in range(per_type)} for t in TYPES
        }
        self.broken: set[str] = set()  # ids served with an unparseable createdAt
        self.requests = dict.fromkeys(TYPES, 0)
        self.repeat_at: dict[str, int] = {}  # type -> request number answered with the last page
        self.skip_at: dict[str, int] = {}  # type -> request number answered one page ahead
        self.change_at: dict[str, tuple[int, str]] = {}  # type -> (request number, id bumped)
        self.last: dict[str, dict[str, Any]] = {}
        for t in TYPES:
            server.route("POST", f"/crm/v3/objects/{t}/search", self._search(t))

    def _search(self, object_type: str) -> Any:
        def handler(request: Request) -> dict[str, Any]:
            self.requests[object_type] += 1
            n = self.requests[object_type]
            if n == self.change_at.get(object_type, (0, ""))[0]:
                rid = self.change_at[object_type][1]
                self.records[object_type][rid] = T0 + timedelta(hours=3)  # edited mid-run
            if n == self.repeat_at.get(object_type) and object_type in self.last:
                return self.last[object_type]
            body = request.get_json()
            offset = int(body.get("after") or 0)
            if n == self.skip_at.get(object_type):
                offset += body["limit"]
            out = self.page(object_type, body, offset)
            self.last[object_type] = out
            return out

        return handler

    def page(self, object_type: str, body: dict[str, Any], offset: int) -> dict[str, Any]:
        flt = {f["operator"]: int(f["value"]) for f in body["filterGroups"][0]["filters"]}
        rows = sorted(
            (t, rid)
            for rid, t in self.records[object_type].items()
            if flt["GTE"] <= t.timestamp() * 1000 < flt.get("LT", 2**62)
        )
        limit = body["limit"]
        page = rows[offset : offset + limit]
        out: dict[str, Any] = {
            "total": len(rows),
            "results": [self.record(object_type, rid, t) for t, rid in page],
        }
        if offset + limit < len(rows):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return out

    def record(self, object_type: str, rid: str, t: datetime) -> dict[str, Any]:
        props = {PROP[object_type]: iso(t), "name": f"name {rid}"}
        if object_type == "contacts":
            props |= {"firstname": "Ada", "email": f"{rid}@acme.example"}
        created = "not a date" if rid in self.broken else iso(T0 - timedelta(days=30))
        return {"id": rid, "createdAt": created, "updatedAt": iso(t), "properties": props}


class FastHubSpotReader(HubSpotApiReader):
    """The production reader with test-sized timeouts and backoffs (0.3 s read timeout)."""

    def _client_kwargs(self) -> dict[str, Any]:
        return {**super()._client_kwargs(), "config": FAST, "page_size": 3}


def run(reader: HubSpotApiReader, warehouse: DuckDBWarehouse) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        source_assets(SPECS["hubspot"], load_settings()),
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse, "hubspot_source": reader},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def stored(warehouse: DuckDBWarehouse) -> tuple[list[str], list[str]]:
    raw = warehouse.query("SELECT record_id FROM raw.hubspot_objects ORDER BY 1")["record_id"]
    docs = warehouse.query(
        "SELECT doc_id FROM staging.documents WHERE source = 'hubspot' ORDER BY 1"
    )["doc_id"]
    return list(raw), list(docs)


ENTITY = {"companies": "company", "contacts": "contact", "deals": "deal"}


def expected_ids(fake: FakeHubSpot) -> list[str]:
    """Raw record ids (``entity:id``) of every record that parses."""
    return sorted(
        f"{ENTITY[t]}:{rid}" for t in TYPES for rid in fake.records[t] if rid not in fake.broken
    )


@pytest.fixture
def reader(fault_server: FaultServer) -> HubSpotApiReader:
    return FastHubSpotReader(access_token="hubspot-token-test", base_url=fault_server.url)


@pytest.mark.slow  # Dagster retry delays / slow answers: over 10 s
def test_storms_5xx_slow_and_truncated_answers_lose_and_double_nothing(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, reader: HubSpotApiReader, data_dir: Any
) -> None:
    fake = FakeHubSpot(fault_server)
    fake.broken = {"com3"}
    path = "/crm/v3/objects/contacts/search"
    # More faults in a row than one call retries (6 attempts): the first attempt of the
    # asset fails, Dagster's retry policy runs it again, and that one meets the rest.
    fault_server.inject(
        "POST",
        path,
        RateLimited(retry_after="0"),
        RateLimited(retry_after="0"),
        RateLimited(retry_after="0"),
        Status(500),
        Status(503),
        Slow(0.6),
        Truncated(),
        BadJson(),
        Status(502),
    )
    fault_server.inject("POST", "/crm/v3/objects/deals/search", Truncated(), Slow(0.6))
    result = run(reader, warehouse)
    assert result.success
    assert not any(h.fault for h in fault_server.hits[-3:])  # the faults were all served
    raw, docs = stored(warehouse)
    assert raw == expected_ids(fake)  # each record once (one version each)
    assert len(docs) == len(set(docs)) == len(raw)
    (row,) = warehouse.query(
        "SELECT stage, source_file, error, payload FROM ops.dead_letters"
    ).to_dict("records")
    assert row["source_file"] == "api:hubspot/companies" and '"com3"' in row["payload"]
    assert "createdAt" in row["error"]  # the reason names the bad field
    # A second run adds nothing: no doubles from the retried pages.
    assert run(reader, warehouse).success
    assert stored(warehouse) == (raw, docs)
    assert warehouse.count("ops.dead_letters") == 1


@pytest.mark.slow  # Dagster retry delays / slow answers: over 10 s
def test_repeated_and_skipped_pages_and_mid_run_edits_end_exactly_once(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, reader: HubSpotApiReader, data_dir: Any
) -> None:
    fake = FakeHubSpot(fault_server)
    fake.repeat_at["companies"] = 2  # the second page is the first one again
    fake.skip_at["contacts"] = 2  # the second page is the third: three contacts missed
    fake.change_at["deals"] = (2, "dea0")  # dea0, already read, is edited before page 2
    first = run(reader, warehouse)
    assert first.success
    raw, docs = stored(warehouse)
    assert len(raw) == len(set(raw)) + 1  # dea0's two versions, nothing else twice
    missed = set(expected_ids(fake)) - set(raw)
    assert missed and all(m.startswith("contact:") for m in missed)  # the skipped page
    # The re-run (the next hourly run of the day, same window) finds what was skipped.
    assert run(reader, warehouse).success
    raw, docs = stored(warehouse)
    assert sorted(set(raw)) == expected_ids(fake)
    assert raw.count("deal:dea0") == 2 and len(raw) == len(expected_ids(fake)) + 1
    assert len(docs) == len(set(docs)) == len(expected_ids(fake))  # one document per record
    newest = warehouse.query("SELECT updated_at FROM staging.documents WHERE doc_id LIKE '%:dea0'")[
        "updated_at"
    ]
    # The warehouse keeps UTC (naive on DuckDB): the newest version is the document.
    assert list(pd.to_datetime(newest, utc=True)) == [T0 + timedelta(hours=3)]
    assert warehouse.count("ops.dead_letters") == 0


def test_a_search_that_never_advances_fails_instead_of_looping(
    fault_server: FaultServer,
) -> None:
    # Five records share one timestamp (more than a page), and the server ignores
    # ``after``: the same page with the same "next" forever.
    same = T0 + timedelta(minutes=1)
    page = {
        "results": [
            {"id": f"k{i}", "properties": {"lastmodifieddate": iso(same)}} for i in range(2)
        ],
        "paging": {"next": {"after": "2"}},
    }
    fault_server.route("POST", "/crm/v3/objects/contacts/search", lambda r: page)
    client = HubSpotClient("t", base_url=fault_server.url, config=FAST, page_size=2)
    got: list[str] = []
    with pytest.raises(InvalidResponseError, match="did not advance"):
        for record in client.search_modified("contacts", T0):
            got.append(record["id"])
            assert len(got) < 50, "paged forever"
    assert got == ["k0", "k1"]
    assert len(fault_server.hits) < 10


def test_a_relay_cursor_that_never_advances_fails_instead_of_looping(
    fault_server: FaultServer,
) -> None:
    node = {"id": "i1", "updatedAt": iso(T0)}
    page = {"data": {"issues": {"nodes": [node],
            "pageInfo": {"hasNextPage": True, "endCursor": "c1"}}}}  # fmt: skip
    fault_server.route("POST", "/graphql", lambda r: page)
    client = LinearClient("lin-key", base_url=fault_server.url, config=FAST)
    got: list[str] = []
    with pytest.raises(InvalidResponseError, match="did not advance"):
        for issue in client.iter_issues_updated_after(T0 - timedelta(days=1)):
            got.append(issue["id"])
    assert got == ["i1"]
    assert len(fault_server.hits) < 10


def test_a_record_without_its_cursor_property_reaches_the_dead_letters(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, reader: HubSpotApiReader, data_dir: Any
) -> None:
    fake = FakeHubSpot(fault_server, per_type=2)
    search = fault_server._routes[("POST", "/crm/v3/objects/companies/search")]

    def with_a_bad_stamp(request: Request) -> Any:
        page = search(request)
        for record in page["results"]:
            if record["id"] == "com1":
                record["properties"]["hs_lastmodifieddate"] = "yesterday-ish"
                record["updatedAt"] = "yesterday-ish"
        return page

    fault_server.route("POST", "/crm/v3/objects/companies/search", with_a_bad_stamp)
    assert run(reader, warehouse).success
    raw, _ = stored(warehouse)
    assert raw == [i for i in expected_ids(fake) if i != "company:com1"]
    (row,) = warehouse.query("SELECT payload, error FROM ops.dead_letters").to_dict("records")
    assert '"com1"' in row["payload"] and "updatedAt" in row["error"]


def test_a_linear_issue_with_an_unparseable_stamp_is_dead_lettered_not_fatal(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, data_dir: Any
) -> None:
    def issue(iid: str, updated: str) -> dict[str, Any]:
        return {"id": iid, "identifier": f"ENG-{iid}", "title": "Fix", "createdAt": iso(T0),
                "updatedAt": updated, "state": {"name": "Todo", "type": "unstarted"}}  # fmt: skip

    nodes = [issue("1", iso(T0)), issue("2", "garbage"), issue("3", iso(T0))]
    page = {"data": {"issues": {"nodes": nodes, "pageInfo": {"hasNextPage": False}}}}
    fault_server.route("POST", "/graphql", lambda r: page)
    reader = LinearApiReader(api_key="lin-key", base_url=fault_server.url)
    result = dg.materialize(
        source_assets(SPECS["linear"], load_settings()),
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse, "linear_source": reader},
        raise_on_error=False,
    )
    assert result.success
    ids = warehouse.query("SELECT record_id FROM raw.linear_issues ORDER BY 1")["record_id"]
    assert list(ids) == ["1", "3"]
    (row,) = warehouse.query("SELECT payload, error FROM ops.dead_letters").to_dict("records")
    assert "garbage" in row["payload"] and "updatedAt" in row["error"]
