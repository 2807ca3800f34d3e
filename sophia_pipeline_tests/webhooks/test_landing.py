"""The landing store's contract on both backends (SQLite here, S3 on a real SeaweedFS),
then what each backend adds: SQLite's pragmas and old-format refusal, S3's claims, lag
window and late-writer rule."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sophia_pipeline.store.landing import (
    LandedEvent,
    LandingError,
    LegacyLandingError,
    NewEvent,
    RetryLaterError,
    S3Landing,
    SQLiteLanding,
    UnstorablePayloadError,
    encode_record,
)
from sophia_pipeline.webhooks.landing import LandingStore
from sophia_pipeline_tests.webhooks.conftest import TEST_LAG_S, Landing, s3_backend
from sophia_pipeline_tests.webhooks.seaweedfs import S3Server

HEADERS = {"x-github-event": "push"}


def _append(store: LandingStore, source: str, event_id: str, n: int = 0) -> bool:
    return store.append(source, event_id, "push", {"n": n, "text": "héllo\nworld"}, HEADERS)


def _read_all(reader: object, source: str, limit: int = 1000) -> list[LandedEvent]:
    events, _ = reader.read_after(source, None, limit)  # type: ignore[attr-defined]
    return events


# ---------------------------------------------------------------- the contract, both backends


def test_append_then_read_back(landing: Landing) -> None:
    with LandingStore(landing.writer) as store:
        assert store.append("github", "d-1", "issues.opened", {"action": "opened"}, HEADERS)
    (event,) = _read_all(landing.reader, "github")
    assert (event.id, event.source, event.event_type) == ("d-1", "github", "issues.opened")
    assert event.received_at.endswith("Z")
    assert event.headers == HEADERS and event.payload == {"action": "opened"}
    assert event.location and event.line_no >= 1


def test_duplicates_are_refused_and_not_written(landing: Landing) -> None:
    with LandingStore(landing.writer) as store:
        assert _append(store, "slack", "Ev1")
        assert not _append(store, "slack", "Ev1")
        # Dedup is per source: GitHub's ids live in their own namespace.
        assert _append(store, "github", "Ev1")
    assert [e.id for e in _read_all(landing.reader, "slack")] == ["Ev1"]
    assert landing.reader.count_after("slack", None) == 1
    assert landing.reader.sources() == ["github", "slack"]


def test_cursor_pagination_and_count_after(landing: Landing) -> None:
    with LandingStore(landing.writer) as store:
        for i in range(25):
            _append(store, "github", f"d-{i}", i)
        reader = landing.reader
        cursor: str | None = None
        seen: list[str] = []
        while True:
            assert reader.count_after("github", cursor) == 25 - len(seen)
            events, cursor = reader.read_after("github", cursor, limit=10)
            if not events:
                break
            seen.extend(e.id for e in events)
            assert events[-1].cursor == cursor
        assert seen == [f"d-{i}" for i in range(25)]
        assert reader.read_after("github", cursor, 10) == ([], cursor)
        assert reader.count_after("github", cursor) == 0
        _append(store, "github", "d-late")
    assert reader.count_after("github", cursor) == 1
    assert [e.id for e in reader.read_after("github", cursor, 10)[0]] == ["d-late"]


def test_dedup_survives_restart_and_holds_across_writers(landing: Landing) -> None:
    with LandingStore(landing.writer) as store:
        for i in range(10):
            _append(store, "github", f"d-{i}", i)
    with LandingStore(landing.again()) as restarted:
        assert not _append(restarted, "github", "d-3")
        assert _append(restarted, "github", "d-10")
    # Two writers at once (two receiver processes or replicas): each id lands once.
    results: dict[str, list[bool]] = {}
    lock = threading.Lock()
    stores = [LandingStore(landing.again()), LandingStore(landing.again())]

    def worker(w: int) -> None:
        for i in range(30):
            eid = f"x-{i}"
            ok = stores[w % 2].append("github", eid, "push", {"w": w}, {})
            with lock:
                results.setdefault(eid, []).append(ok)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert all(v.count(True) == 1 for v in results.values())
    ids = [e.id for e in _read_all(landing.reader, "github")]
    assert len(ids) == len(set(ids)) == 41


def test_concurrent_appends_group_commit_each_id_once(landing: Landing) -> None:
    batches: list[int] = []
    results: dict[str, list[bool]] = {}
    lock = threading.Lock()
    with LandingStore(landing.writer, on_batch=batches.append) as store:

        def worker(w: int) -> None:
            for i in range(20):
                eid = f"id-{(w * 20 + i) % 300}"  # ids 0..299 sent twice across workers
                ok = store.append("github", eid, "push", {"w": w, "i": i}, {})
                with lock:
                    results.setdefault(eid, []).append(ok)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(v.count(True) == 1 for v in results.values())
    ids = [e.id for e in _read_all(landing.reader, "github", limit=5000)]
    assert len(ids) == len(set(ids)) == 300
    assert sum(batches) == 600
    assert len(batches) < 600  # grouped: fewer commits than events


def test_append_async_group_commit(landing: Landing) -> None:
    store = LandingStore(landing.writer)

    async def main() -> list[bool]:
        coros = [
            store.append_async("slack", f"Ev{i % 150}", "message", {"i": i}, {}) for i in range(300)
        ]
        return await asyncio.gather(*coros)

    try:
        results = asyncio.run(main())
    finally:
        store.close()
    assert results.count(True) == 150
    assert landing.reader.count_after("slack", None) == 150


def test_prune_drops_only_what_is_consumed_and_old(landing: Landing) -> None:
    with LandingStore(landing.writer) as store:
        for i in range(6):
            _append(store, "slack", f"Ev{i}", i)
        _append(store, "github", "d-0")
    reader = landing.reader
    events, _ = reader.read_after("slack", None, 4)
    consumed = events[-1].cursor
    # Consumed but inside the retention window: kept.
    assert landing.writer.prune("slack", consumed, datetime.now(UTC) - timedelta(hours=1)) == 0
    future = datetime.now(UTC) + timedelta(hours=1)
    assert landing.writer.prune("slack", consumed, future) >= 1
    remaining = [e.id for e in _read_all(reader, "slack")]
    # Everything up to the consumed cursor went (S3 prunes whole batches: a batch the
    # cursor is inside stays whole), nothing after it, and no other source.
    assert remaining[-2:] == ["Ev4", "Ev5"] and "Ev0" not in remaining
    assert [e.id for e in reader.read_after("slack", consumed, 10)[0]] == ["Ev4", "Ev5"]
    assert [e.id for e in _read_all(reader, "github")] == ["d-0"]
    assert reader.count_after("slack", consumed) == 2
    # The retention window is the dedup window: a pruned id may land again.
    with LandingStore(landing.later()) as store:
        assert _append(store, "slack", "Ev0")
        assert not _append(store, "slack", "Ev5")


def test_invalid_cursor_source_and_limit(landing: Landing) -> None:
    with LandingStore(landing.writer) as store:
        _append(store, "slack", "Ev0")
    _, cursor = landing.reader.read_after("slack", None, 1)
    assert cursor is not None
    with pytest.raises(ValueError, match="belongs to source"):
        landing.reader.read_after("github", cursor, 1)
    for bad in ["", "garbage", "slack:x:1", "slack:-1", "slack:1:2:3"]:
        with pytest.raises(ValueError):
            landing.reader.read_after("slack", bad, 1)
        with pytest.raises(ValueError):
            landing.reader.count_after("slack", bad)
    for bad_source in ["../etc", "Slack", "", "a/b"]:
        with pytest.raises(ValueError):
            landing.reader.read_after(bad_source, None, 1)
        with pytest.raises(ValueError), LandingStore(landing.writer) as store:
            store.append(bad_source, "x", "t", {}, {})
    with pytest.raises(ValueError):
        landing.reader.read_after("slack", None, 0)


def test_unstorable_payload_is_refused_before_queueing(landing: Landing) -> None:
    with LandingStore(landing.writer) as store:
        with pytest.raises(UnstorablePayloadError):
            store.append("slack", "Ev-nan", "message", {"x": float("nan")}, {})
        assert landing.reader.count_after("slack", None) == 0
        assert store.append("slack", "Ev-nan", "message", {"x": 1}, {})


def test_closed_store_reopens_lazily(landing: Landing) -> None:
    store = LandingStore(landing.writer)
    assert not store.is_writable()
    assert _append(store, "slack", "Ev0")
    assert store.is_open and store.is_writable()
    store.close()
    assert not store.is_open
    assert not _append(store, "slack", "Ev0")  # reopened; dedup is the backend's
    store.close()


# ---------------------------------------------------------------- SQLite


def test_sqlite_is_wal_with_full_sync_and_commits_before_returning(tmp_path: Path) -> None:
    backend = SQLiteLanding(tmp_path / "land")
    with LandingStore(backend) as store:
        assert _append(store, "slack", "Ev0")
        conn = backend._writer
        assert conn is not None
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        # Committed by the time append returned: another connection sees it.
        other = sqlite3.connect(backend.path)
        assert other.execute("PRAGMA user_version").fetchone() is not None
        assert SQLiteLanding(tmp_path / "land").count_after("slack", None) == 1
        other.close()


def test_sqlite_readers_never_create_anything(tmp_path: Path) -> None:
    root = tmp_path / "absent"
    reader = SQLiteLanding(root)
    assert reader.read_after("slack", None, 10) == ([], None)
    assert reader.count_after("slack", None) == 0
    assert reader.sources() == []
    assert not root.exists()


def test_sqlite_refuses_the_old_segment_format_with_a_clear_message(tmp_path: Path) -> None:
    root = tmp_path / "webhooks"
    (root / "slack").mkdir(parents=True)
    (root / "slack" / "segment-000000000001.jsonl").write_text('{"id":"Ev0"}\n')
    with pytest.raises(LegacyLandingError, match="old segment-file format") as info:
        SQLiteLanding(root)
    assert "slack/segment-000000000001.jsonl" in str(info.value)
    assert "move the folder away" in str(info.value)


def test_sqlite_names_an_old_cursor(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="old segment-file landing store"):
        SQLiteLanding(tmp_path).read_after("slack", "slack:000000000001:120", 10)


def test_sqlite_cursor_survives_prune_and_never_reuses_a_number(tmp_path: Path) -> None:
    backend = SQLiteLanding(tmp_path / "land")
    with LandingStore(backend) as store:
        for i in range(3):
            _append(store, "slack", f"Ev{i}", i)
        events, cursor = backend.read_after("slack", None, 10)
        assert cursor is not None
        backend.prune("slack", cursor, datetime.now(UTC) + timedelta(hours=1))
        assert backend.count_after("slack", None) == 0
        _append(store, "slack", "Ev3")
    (after,) = backend.read_after("slack", cursor, 10)[0]
    assert after.id == "Ev3" and after.line_no > events[-1].line_no


class _FailingSQLite(SQLiteLanding):
    """Fails the next commit, as a full disk would."""

    fail = False

    def land(self, group: object) -> list[bool]:  # type: ignore[override]
        if self.fail:
            self.fail = False
            raise LandingError("disk I/O error")
        return super().land(group)  # type: ignore[arg-type]


def test_failed_write_is_not_acknowledged_and_can_be_retried(tmp_path: Path) -> None:
    backend = _FailingSQLite(tmp_path / "land")
    with LandingStore(backend, recovery_probe_after_s=0.0) as store:
        assert _append(store, "slack", "Ev0")
        backend.fail = True
        with pytest.raises(LandingError):
            _append(store, "slack", "Ev1")
        assert _append(store, "slack", "Ev1")  # nothing of the failed group was kept
        assert store.is_writable()
    assert [e.id for e in _read_all(SQLiteLanding(tmp_path / "land"), "slack")] == ["Ev0", "Ev1"]


def test_a_failed_transaction_keeps_none_of_its_group(tmp_path: Path) -> None:
    backend = SQLiteLanding(tmp_path / "land")
    good = NewEvent("slack", "Ev0", "message", "2025-01-01T00:00:00.000000Z", "{}")
    bad = NewEvent("Bad Source", "Ev1", "message", "2025-01-01T00:00:00.000000Z", "{}")
    with pytest.raises(ValueError):
        backend.land([good, bad])
    assert backend.count_after("slack", None) == 0


def test_reader_in_another_process_while_writing(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root) as store:
        for i in range(20):
            _append(store, "slack", f"Ev{i}", i)
        code = (
            "import sys; from sophia_pipeline.store.landing import SQLiteLanding;"
            "s = SQLiteLanding(sys.argv[1]); ev, cur = s.read_after('slack', None, 5);"
            "print(len(ev), s.count_after('slack', cur), s.count_after('slack', None))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(root)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert out.stdout.split() == ["5", "15", "20"]
        assert _append(store, "slack", "Ev20")  # the writer is unaffected


# ---------------------------------------------------------------- S3


def _event(source: str, event_id: str) -> NewEvent:
    at = "2025-01-10T00:00:00.000000Z"
    return NewEvent(
        source, event_id, "message", at, encode_record(source, event_id, "message", at, {}, {})
    )


def test_s3_sensor_sees_a_batch_only_after_the_lag_window(s3_server: S3Server) -> None:
    url = f"s3://{s3_server.bucket}/lag-{time.time_ns()}"
    writer = s3_backend(s3_server, url)
    assert writer.land([_event("slack", "Ev0")]) == [True]
    now_reader = s3_backend(s3_server, url)
    assert now_reader.read_after("slack", None, 10) == ([], None)
    assert now_reader.count_after("slack", None) == 1  # counted (status), not yet read
    later = s3_backend(s3_server, url, ahead_s=TEST_LAG_S + 1)
    assert [e.id for e in later.read_after("slack", None, 10)[0]] == ["Ev0"]


def test_s3_one_group_is_one_batch_object(s3_server: S3Server) -> None:
    url = f"s3://{s3_server.bucket}/group-{time.time_ns()}"
    writer = s3_backend(s3_server, url)
    group = [_event("slack", f"Ev{i}") for i in range(50)] + [_event("slack", "Ev3")]
    assert writer.land(group) == [True] * 50 + [False]
    client = s3_server.client()
    prefix = url.removeprefix(f"s3://{s3_server.bucket}/")
    keys = [
        o["Key"] for o in client.list_objects_v2(Bucket=s3_server.bucket, Prefix=prefix)["Contents"]
    ]
    batches = [k for k in keys if "/batches/" in k]
    assert len(batches) == 1 and batches[0].endswith("-50.jsonl")
    assert sum("/ids/" in k for k in keys) == 50  # one claim per distinct event


def test_s3_claim_of_a_writer_still_at_work_means_retry_and_of_a_dead_one_is_taken_over(
    s3_server: S3Server,
) -> None:
    url = f"s3://{s3_server.bucket}/claims-{time.time_ns()}"
    # A replica claimed Ev0 and died before writing its batch.
    dead = s3_backend(s3_server, url)
    dead._claim(
        _event("slack", "Ev0"), "0000000000000-dead-0000000001-0.jsonl", int(time.time() * 1000)
    )
    (result,) = s3_backend(s3_server, url).land([_event("slack", "Ev0")])
    assert isinstance(result, RetryLaterError)  # still inside its lag window
    # Past the window, a replica takes the next generation of the claim and lands it.
    later = s3_backend(s3_server, url, ahead_s=TEST_LAG_S + 1)
    assert later.land([_event("slack", "Ev0")]) == [True]
    assert later.land([_event("slack", "Ev0")]) == [False]
    assert [
        e.id for e in _read_all(s3_backend(s3_server, url, ahead_s=2 * TEST_LAG_S + 2), "slack")
    ] == ["Ev0"]


def test_s3_writer_too_slow_for_the_lag_window_gives_up(s3_server: S3Server) -> None:
    url = f"s3://{s3_server.bucket}/slow-{time.time_ns()}"
    ticks = iter([1000.0, 1000.0 + TEST_LAG_S])  # the claims took the whole window

    slow = s3_backend(s3_server, url)
    slow._clock = lambda: next(ticks, 1000.0 + TEST_LAG_S)
    (result,) = slow.land([_event("slack", "Ev0")])
    assert isinstance(result, LandingError)
    reader = s3_backend(s3_server, url, ahead_s=10 * TEST_LAG_S)
    assert reader.read_after("slack", None, 10) == ([], None)  # no batch appeared late


def test_s3_landing_is_chosen_by_url(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from sophia_pipeline.settings import load_settings
    from sophia_pipeline.store.landing import open_landing

    env = {**s3_server.env(), "SOPHIA_LANDING_URL": f"s3://{s3_server.bucket}/u{time.time_ns()}"}
    backend = open_landing(load_settings(env))
    assert isinstance(backend, S3Landing) and backend.location == env["SOPHIA_LANDING_URL"]
    assert backend.land([_event("github", "d-1")]) == [True]
    assert backend.sources() == ["github"]
