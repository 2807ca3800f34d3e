"""Apollo delta loading end to end: local HTTP server -> ApolloApiReader -> the raw asset
-> DuckDB, with the cursor kept in the warehouse between runs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from werkzeug import Request

from sophia_pipeline.defs.assets.sources import source_assets
from sophia_pipeline.resources.api_clients import DeltaCursor
from sophia_pipeline.resources.prod_readers import ApolloApiReader
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import SPECS
from sophia_pipeline.store import ops
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline.store.ops import read_cursor
from sophia_pipeline_tests.reliability.fault_server import FaultServer

DAY = date(2026, 5, 1)
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = "apollo-key-7f3e21c9a0"
SEARCH = "/api/v1/contacts/search"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def person(cid: str, stamp: datetime) -> dict[str, Any]:
    return {
        "id": cid,
        "first_name": "Ada",
        "last_name": cid,
        "title": "VP Sales",
        "email": f"{cid}@acme.example",
        "organization": {"id": "org-1", "name": "Acme", "primary_domain": "acme.example"},
        "updated_at": z(stamp),
    }


class FakeApollo:
    """Apollo's people search, newest first, paged; ``on_page`` changes data mid-run."""

    def __init__(self, stamps: dict[str, datetime]) -> None:
        self.stamps = dict(stamps)
        self.on_page: dict[int, Any] = {}
        self.pages_served = 0

    def search(self, request: Request) -> dict[str, Any]:
        body = request.get_json()
        page, per = body["page"], body["per_page"]
        rows = sorted(((t, cid) for cid, t in self.stamps.items()), reverse=True)
        chunk = rows[(page - 1) * per : page * per]
        self.pages_served += 1
        hook = self.on_page.pop(self.pages_served, None)
        if hook:
            hook()  # the change lands after this page was computed
        return {
            "contacts": [person(cid, t) for t, cid in chunk],
            "pagination": {"page": page, "per_page": per, "total_pages": -(-len(rows) // per)},
        }


def materialize_apollo(wh: DuckDBWarehouse, reader: ApolloApiReader) -> dg.ExecuteInProcessResult:
    raw_asset = source_assets(SPECS["apollo"], load_settings())[0]
    return dg.materialize(
        [raw_asset],
        partition_key=DAY.isoformat(),
        resources={"warehouse": wh, "apollo_source": reader},
    )


def versions(wh: DuckDBWarehouse) -> list[tuple[str, str]]:
    df = wh.query("SELECT record_id, payload FROM raw.apollo_contacts")
    return sorted(
        (rid, json.loads(p)["updated_at"])
        for rid, p in zip(df["record_id"], df["payload"], strict=True)
    )


def test_cursor_stamp_and_mid_run_update_load_exactly_once(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, data_dir: Path
) -> None:
    fake = FakeApollo({"old": at(-60), "a": at(-5), "b": at(0)})
    fault_server.route("POST", SEARCH, fake.search)
    reader = ApolloApiReader(
        api_key=TOKEN,
        base_url=fault_server.url,
        overlap_minutes=10,
        initial_cursor=z(at(-30)),
        page_size=2,
    )

    assert materialize_apollo(warehouse, reader).success
    assert versions(warehouse) == [("a", z(at(-5))), ("b", z(at(0)))]
    stored = read_cursor(warehouse, "apollo", "contacts")
    assert stored is not None and DeltaCursor.from_json(stored).updated_at == at(0)

    # Between polls: "c" is updated exactly at the cursor's timestamp, more records
    # arrive, and "moving" is updated while the next poll is paging.
    fake.stamps.update({"c": at(0), "d": at(1), "e": at(2), "moving": at(0.5)})
    fake.on_page[fake.pages_served + 1] = lambda: fake.stamps.__setitem__("moving", at(30))
    assert materialize_apollo(warehouse, reader).success
    assert materialize_apollo(warehouse, reader).success  # picks up what moved, if needed
    final = materialize_apollo(warehouse, reader)  # nothing left: adds nothing
    assert final.success

    got = versions(warehouse)
    assert len(got) == len(set(got))  # no version twice
    ids = [rid for rid, _ in got]
    assert ids.count("c") == 1  # updated exactly at the cursor: loaded, once
    assert ("moving", z(at(30))) in got  # updated during the run: loaded, once
    assert "old" not in ids
    assert {"a", "b", "c", "d", "e", "moving"} <= set(ids)
    stored = read_cursor(warehouse, "apollo", "contacts")
    assert stored is not None and DeltaCursor.from_json(stored).updated_at == at(30)
    meta = final.asset_materializations_for_node("raw__apollo_contacts")[0].metadata
    assert meta["window_records_new"].value == 0 and meta["window_dead_letters"].value == 0


def test_a_poison_record_is_dead_lettered_once_and_the_rest_loads(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, data_dir: Path
) -> None:
    def search(request: Request) -> dict[str, Any]:
        bad = person("bad", at(1))
        bad["organization"] = {"name": "No Id Inc"}  # an organization needs its id
        return {"contacts": [person("ok", at(2)), bad], "pagination": {"total_pages": 1}}

    fault_server.route("POST", SEARCH, search)
    reader = ApolloApiReader(api_key=TOKEN, base_url=fault_server.url, initial_cursor=z(at(-30)))
    assert materialize_apollo(warehouse, reader).success
    assert materialize_apollo(warehouse, reader).success
    assert [rid for rid, _ in versions(warehouse)] == ["ok"]
    letters = warehouse.query("SELECT source, stage, error, attempts FROM ops.dead_letters")
    assert list(letters["stage"]) == ["raw/apollo_contacts"]
    # The cursor remembers it was seen: the second poll neither loads nor re-letters it.
    assert int(letters["attempts"].iloc[0]) == 1
    assert letters["error"].iloc[0] == "schema violation: organization.id: Field required"


@pytest.mark.parametrize("stored", [False, True])
def test_first_poll_starts_at_the_initial_cursor_or_the_window(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, data_dir: Path, stored: bool
) -> None:
    fake = FakeApollo({"before": at(-24 * 60 - 1), "today": at(1)})
    fault_server.route("POST", SEARCH, fake.search)
    reader = ApolloApiReader(
        api_key=TOKEN,
        base_url=fault_server.url,
        initial_cursor=z(at(-48 * 60)) if stored else None,
    )
    assert materialize_apollo(warehouse, reader).success
    ids = {rid for rid, _ in versions(warehouse)}
    assert ids == ({"before", "today"} if stored else {"today"})


def test_the_first_poll_reports_the_records_it_really_added(
    fault_server: FaultServer, warehouse: DuckDBWarehouse, data_dir: Path
) -> None:
    fake = FakeApollo({"a": at(1), "b": at(2), "c": at(3)})
    fault_server.route("POST", SEARCH, fake.search)
    reader = ApolloApiReader(api_key=TOKEN, base_url=fault_server.url, initial_cursor=z(at(-30)))

    first = materialize_apollo(warehouse, reader)
    assert first.success
    meta = first.asset_materializations_for_node("raw__apollo_contacts")[0].metadata
    # The raw asset is the only writer: what it adds is new, not "already loaded".
    assert (
        meta["window_records_new"].value == 3 and meta["window_records_already_loaded"].value == 0
    )
    assert meta["records_read"].value == 3
    assert [rid for rid, _ in versions(warehouse)] == ["a", "b", "c"]


def test_a_failure_after_fetching_commits_neither_rows_nor_cursor(
    fault_server: FaultServer,
    warehouse: DuckDBWarehouse,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeApollo({"a": at(1), "b": at(2)})
    fault_server.route("POST", SEARCH, fake.search)
    reader = ApolloApiReader(api_key=TOKEN, base_url=fault_server.url, initial_cursor=z(at(-30)))

    def crash(*args: Any, **kwargs: Any) -> None:
        # The cursor is the commit's last write: the rows are already in its transaction.
        # No retries: the step's retry policy would refetch before we could look.
        raise dg.Failure("killed before the commit", allow_retries=False)

    with monkeypatch.context() as patch:
        patch.setattr(ops, "set_cursor_tx", crash)
        failed = dg.materialize(
            [source_assets(SPECS["apollo"], load_settings())[0]],
            partition_key=DAY.isoformat(),
            resources={"warehouse": warehouse, "apollo_source": reader},
            raise_on_error=False,
        )
    assert not failed.success and fake.pages_served == 1  # it did fetch
    assert versions(warehouse) == []
    assert read_cursor(warehouse, "apollo", "contacts") is None

    # The re-run starts from the same (unmoved) cursor and fetches the records again.
    again = materialize_apollo(warehouse, reader)
    assert again.success and fake.pages_served == 2
    assert [rid for rid, _ in versions(warehouse)] == ["a", "b"]
    meta = again.asset_materializations_for_node("raw__apollo_contacts")[0].metadata
    assert (
        meta["window_records_new"].value == 2 and meta["window_records_already_loaded"].value == 0
    )
    stored = read_cursor(warehouse, "apollo", "contacts")
    assert stored is not None and DeltaCursor.from_json(stored).updated_at == at(2)
