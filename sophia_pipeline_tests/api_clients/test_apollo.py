from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug import Request

from sophia_pipeline.reliability import HttpClientConfig
from sophia_pipeline.resources.api_clients import (
    ApolloClient,
    DeltaCursor,
    advance_cursor,
    record_key,
    select_new,
)
from sophia_pipeline.resources.api_clients.apollo import canonical_time
from sophia_pipeline_tests.api_clients.conftest import assert_retry_after_waited, no_secret
from sophia_pipeline_tests.reliability.fault_server import (
    FaultServer,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

TOKEN = "apollo-key-31e7a9c0d2"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")  # Apollo's own spelling


class FakeApollo:
    def __init__(self, stamps: dict[str, datetime]) -> None:
        self.stamps = dict(stamps)
        self.on_page: dict[int, Any] = {}
        self.served: list[int] = []

    def search(self, request: Request) -> dict[str, Any]:
        body = request.get_json()
        assert body["sort_by_field"] == "contact_updated_at" and body["sort_ascending"] is False
        page, per = body["page"], body["per_page"]
        rows = sorted(((t, cid) for cid, t in self.stamps.items()), reverse=True)
        chunk = rows[(page - 1) * per : page * per]
        self.served.append(page)
        hook = self.on_page.pop(len(self.served), None)
        if hook:
            hook()  # something changes *after* this page was computed
        return {
            "contacts": [{"id": cid, "updated_at": _z(t), "name": cid} for t, cid in chunk],
            "pagination": {
                "page": page,
                "per_page": per,
                "total_entries": len(rows),
                "total_pages": -(-len(rows) // per),
            },
        }


def test_delta_loads_the_cursor_stamp_and_mid_run_updates_exactly_once(
    fault_server: FaultServer,
    redis_client: object,
    redis_url: str,
    fast_config: HttpClientConfig,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    fake = FakeApollo(
        {
            "old": _at(-10),  # before the overlap window: never loaded
            "prev": _at(-1),  # in the window, loaded by the previous poll
            "at_cursor": _at(0),  # updated exactly at the cursor: must load
            **{f"b{i}": _at(i) for i in range(1, 8)},
            "moving": _at(2.5),  # gets updated while we page
        }
    )
    fake.on_page[1] = lambda: fake.stamps.__setitem__("moving", _at(30))
    fault_server.route("POST", "/api/v1/contacts/search", fake.search)
    fault_server.inject(
        "POST", "/api/v1/contacts/search", Status(500), RateLimited("1"), Slow(0.6), Truncated()
    )
    cursor = DeltaCursor(_at(0), frozenset({("prev", canonical_time(_at(-1)))}))

    loads: list[tuple[str, str]] = []
    with ApolloClient(
        TOKEN, base_url=fault_server.url, redis=redis_url, config=fast_config, page_size=3
    ) as apollo:
        first, cursor = apollo.fetch_since(cursor, OVERLAP)
        loads += [(r["id"], r["updated_at"]) for r in first]
        assert cursor.updated_at == _at(7)  # the newest record received, not now()
        second, cursor = apollo.fetch_since(DeltaCursor.from_json(cursor.to_json()), OVERLAP)
        loads += [(r["id"], r["updated_at"]) for r in second]
        third, cursor = apollo.fetch_since(cursor, OVERLAP)

    assert len(loads) == len(set(loads))  # the overlap never duplicated anything
    ids = [cid for cid, _ in loads]
    assert "at_cursor" in ids and "prev" not in ids and "old" not in ids
    assert ("moving", _z(_at(30))) in loads  # the mid-run update made it in, once
    assert sorted(set(ids)) == sorted(["at_cursor", "moving", *[f"b{i}" for i in range(1, 8)]])
    assert [r["id"] for r in second] == ["moving"]
    assert third == [] and cursor.updated_at == _at(30)
    assert_retry_after_waited(fault_server)
    no_secret(debug_logs, TOKEN)


def test_first_poll_takes_a_plain_datetime(
    fault_server: FaultServer, fast_config: HttpClientConfig
) -> None:
    fake = FakeApollo({"a": _at(0), "b": _at(1)})
    fault_server.route("POST", "/api/v1/contacts/search", fake.search)
    with ApolloClient(TOKEN, base_url=fault_server.url, config=fast_config) as apollo:
        records, cursor = apollo.fetch_since(_at(0), timedelta(0))
    assert [r["id"] for r in records] == ["a", "b"]
    assert cursor.seen == {("b", canonical_time(_at(1)))}
    assert fault_server.hits[0].headers["x-api-key"] == TOKEN


# -- the pure dedup decision ------------------------------------------------------------


def test_select_new_rules() -> None:
    since = _at(0)
    records = [
        {"id": "a", "updated_at": "2026-05-01T12:00:00Z"},  # exactly at since: kept
        {"id": "a", "updated_at": "2026-05-01T12:00:00+00:00"},  # same key, other spelling
        {"id": "b", "updated_at": _z(_at(-0.01))},  # before since
        {"id": "c", "updated_at": _z(_at(1))},  # already seen
        {"id": "c", "updated_at": _z(_at(2))},  # a newer version of c: new
        {"id": None, "updated_at": _z(_at(1))},
        {"id": "d"},
    ]
    seen = {("c", canonical_time(_at(1)))}
    chosen = select_new(records, since=since, seen=seen)
    assert [(r["id"], r["updated_at"]) for r in chosen] == [
        ("a", "2026-05-01T12:00:00Z"),
        ("c", _z(_at(2))),
    ]


def test_advance_cursor_keeps_only_the_window() -> None:
    start = DeltaCursor(
        _at(0), frozenset({("old", canonical_time(_at(-9))), ("p", canonical_time(_at(-1)))})
    )
    new = advance_cursor(start, [{"id": "x", "updated_at": _z(_at(3))}], OVERLAP)
    assert new.updated_at == _at(3)
    assert new.seen == {("p", canonical_time(_at(-1))), ("x", canonical_time(_at(3)))}
    assert advance_cursor(start, [], OVERLAP).updated_at == _at(0)  # nothing new: unchanged


writes = st.lists(
    st.tuples(
        st.sampled_from("abcdef"),  # record id
        st.integers(min_value=0, max_value=40),  # updated_at, in minutes
        st.integers(min_value=0, max_value=4),  # minutes until the API shows it (< overlap)
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(history=writes, polls=st.lists(st.integers(min_value=0, max_value=45), max_size=6))
def test_polling_never_duplicates_and_ends_with_every_latest_version(
    history: list[tuple[str, int, int]], polls: list[int]
) -> None:
    """Records change over time and show up late (within the overlap). Polls at arbitrary
    moments see each record's latest visible version, out of order and repeated (as a
    shifting page would). No version is ever loaded twice, and a final poll leaves every
    record's latest version loaded."""
    overlap = timedelta(minutes=5)
    cursor = DeltaCursor(_at(0))
    loaded: list[tuple[str, str] | None] = []
    for now in [*sorted(polls), 50]:
        latest: dict[str, int] = {}
        for rid, minute, lag in history:
            if minute + lag <= now and minute >= latest.get(rid, -1):
                latest[rid] = minute
        page = [{"id": rid, "updated_at": _z(_at(m))} for rid, m in latest.items()]
        page = page[::-1] + page[: len(page) // 2]
        new = select_new(page, since=cursor.updated_at - overlap, seen=cursor.seen)
        loaded += [record_key(r) for r in new]
        cursor = advance_cursor(cursor, new, overlap)
    assert len(loaded) == len(set(loaded))
    final: dict[str, int] = {}
    for rid, minute, _ in history:
        final[rid] = max(final.get(rid, -1), minute)
    assert {(rid, canonical_time(_at(m))) for rid, m in final.items()} <= set(loaded)


def test_a_record_with_an_unparseable_stamp_is_handed_on_not_fatal(
    fault_server: FaultServer, fast_config: HttpClientConfig
) -> None:
    # Regression: parse_time raised ValueError on "last week" and failed the whole poll,
    # so the good records were not loaded and the bad one could not be dead-lettered.
    fake = FakeApollo({"a": _at(0), "b": _at(1)})

    def search(request: Request) -> dict[str, Any]:
        page = fake.search(request)
        page["contacts"].insert(1, {"id": "bad", "updated_at": "last week", "name": "bad"})
        return page

    fault_server.route("POST", "/api/v1/contacts/search", search)
    with ApolloClient(TOKEN, base_url=fault_server.url, config=fast_config) as apollo:
        records, cursor = apollo.fetch_since(_at(0), timedelta(0))
    assert sorted(r["id"] for r in records) == ["a", "b", "bad"]  # the caller dead-letters it
    assert cursor.updated_at == _at(1)  # the bad stamp never moves the cursor
