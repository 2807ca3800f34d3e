"""The landing store: durability, cursors, rotation, torn tails, dedup across restarts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from sophia_pipeline.webhooks import landing
from sophia_pipeline.webhooks.landing import (
    LandedEvent,
    LandingError,
    LandingStore,
    LandingStoreLockedError,
    LocalFolderBackend,
    SegmentFile,
    UnstorablePayloadError,
    segment_name,
)
from sophia_pipeline_tests.webhooks.conftest import store_root

HEADERS = {"x-github-event": "push"}


def _append(store: LandingStore, source: str, event_id: str, n: int = 0) -> bool:
    return store.append(source, event_id, "push", {"n": n, "text": "héllo\nworld"}, HEADERS)


def _read_all(store: LandingStore, source: str, limit: int = 1000) -> list[LandedEvent]:
    events, _ = store.read_after(source, None, limit)
    return events


def _segments(root: Path, source: str) -> list[Path]:
    return sorted((root / source).glob("segment-*.jsonl"))


def test_append_then_read_back_exact_line_shape(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root) as store:
        assert store.append("github", "d-1", "issues.opened", {"action": "opened"}, HEADERS)
    (seg,) = _segments(root, "github")
    lines = seg.read_bytes().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record) == {"id", "source", "event_type", "received_at", "headers", "payload"}
    assert record["id"] == "d-1"
    assert record["source"] == "github"
    assert record["event_type"] == "issues.opened"
    assert record["received_at"].endswith("Z")
    assert record["headers"] == HEADERS
    assert record["payload"] == {"action": "opened"}
    assert lines[0].isascii()


def test_duplicates_are_refused_and_not_written(store: LandingStore) -> None:
    assert _append(store, "slack", "Ev1")
    assert not _append(store, "slack", "Ev1")
    # Dedup is per source: GitHub's ids live in their own namespace.
    assert _append(store, "github", "Ev1")
    assert [e.id for e in _read_all(store, "slack")] == ["Ev1"]
    assert store.count_after("slack", None) == 1


def test_event_is_fsynced_before_append_returns(
    store: LandingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_sizes: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        synced_sizes.append(os.fstat(fd).st_size)

    monkeypatch.setattr(landing.os, "fsync", spy)
    for i in range(5):
        assert _append(store, "slack", f"Ev{i}", i)
        (seg,) = _segments(store_root(store), "slack")
        # The last fsync before returning covered this event's line.
        assert synced_sizes and synced_sizes[-1] == seg.stat().st_size


def test_cursor_pagination_and_count_after(store: LandingStore) -> None:
    for i in range(25):
        _append(store, "github", f"d-{i}", i)
    cursor: str | None = None
    seen: list[str] = []
    while True:
        assert store.count_after("github", cursor) == 25 - len(seen)
        events, cursor = store.read_after("github", cursor, limit=10)
        if not events:
            break
        seen.extend(e.id for e in events)
        assert events[-1].cursor == cursor
    assert seen == [f"d-{i}" for i in range(25)]
    # Nothing new: the cursor is returned unchanged.
    assert store.read_after("github", cursor, 10) == ([], cursor)
    assert store.count_after("github", cursor) == 0
    _append(store, "github", "d-late")
    assert store.count_after("github", cursor) == 1
    assert [e.id for e in store.read_after("github", cursor, 10)[0]] == ["d-late"]


def test_empty_and_missing_root_reads_are_pure(tmp_path: Path) -> None:
    root = tmp_path / "absent"
    reader = LandingStore(root)
    assert reader.read_after("slack", None, 10) == ([], None)
    assert reader.count_after("slack", None) == 0
    assert reader.sources() == []
    assert not root.exists()  # a reader never creates anything


def test_rotation_by_size_keeps_cursors_valid(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root, max_segment_bytes=600) as store:
        for i in range(5):
            _append(store, "slack", f"Ev{i}", i)
        first, cursor = store.read_after("slack", None, limit=3)
        for i in range(5, 40):
            _append(store, "slack", f"Ev{i}", i)
        assert len(_segments(root, "slack")) > 5
        rest: list[LandedEvent] = []
        while True:
            events, cursor = store.read_after("slack", cursor, limit=7)
            if not events:
                break
            rest.extend(events)
    assert [e.id for e in first + rest] == [f"Ev{i}" for i in range(40)]
    for seg in _segments(root, "slack"):
        assert seg.stat().st_size <= 600 or len(seg.read_bytes().splitlines()) == 1


def test_rotation_by_age(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root, max_segment_age_s=0.0) as store:
        for i in range(4):
            _append(store, "github", f"d-{i}", i)
    assert len(_segments(root, "github")) == 4
    assert [e.id for e in _read_all(LandingStore(root), "github")] == [f"d-{i}" for i in range(4)]


def test_dedup_survives_restart(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root) as store:
        for i in range(10):
            _append(store, "github", f"d-{i}", i)
    with LandingStore(root) as store:
        assert not _append(store, "github", "d-3")
        assert _append(store, "github", "d-10")
        assert len(_segments(root, "github")) == 2  # a restart always starts a new segment
    assert LandingStore(root).count_after("github", None) == 11


def test_torn_tail_is_skipped_and_never_corrupts_later_appends(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root) as store:
        for i in range(3):
            _append(store, "slack", f"Ev{i}", i)
    (seg,) = _segments(root, "slack")
    # What a SIGKILL in the middle of write() leaves behind.
    with open(seg, "ab") as f:
        f.write(b'{"id":"Ev-torn","source":"slack","event_ty')

    reader = LandingStore(root)
    events, cursor = reader.read_after("slack", None, 100)
    assert [e.id for e in events] == ["Ev0", "Ev1", "Ev2"]
    assert reader.count_after("slack", None) == 3
    # While it is the newest segment, the reader waits in front of the partial line.
    assert reader.read_after("slack", cursor, 100) == ([], cursor)

    with LandingStore(root) as store:
        assert _append(store, "slack", "Ev-torn")  # the torn event never counted as landed
        assert not _append(store, "slack", "Ev1")
        _append(store, "slack", "Ev3", 3)
    events, cursor2 = reader.read_after("slack", cursor, 100)
    assert [e.id for e in events] == ["Ev-torn", "Ev3"]
    assert reader.count_after("slack", cursor) == 2
    assert [e.id for e in _read_all(reader, "slack")] == ["Ev0", "Ev1", "Ev2", "Ev-torn", "Ev3"]
    assert seg.read_bytes().endswith(b"event_ty")  # the sealed segment was never appended to
    assert reader.read_after("slack", cursor2, 100) == ([], cursor2)


def test_corrupt_complete_line_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root) as store:
        _append(store, "slack", "Ev0")
    (seg,) = _segments(root, "slack")
    with open(seg, "ab") as f:
        f.write(b"\x00\x00not json\n[1,2]\n")
    with LandingStore(root) as store:
        _append(store, "slack", "Ev1")
    reader = LandingStore(root)
    events, cursor = reader.read_after("slack", None, 100)
    assert [e.id for e in events] == ["Ev0", "Ev1"]
    assert reader.read_after("slack", cursor, 100) == ([], cursor)


def test_cursor_into_a_pruned_segment_moves_on(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root, max_segment_age_s=0.0) as store:
        for i in range(3):
            _append(store, "slack", f"Ev{i}", i)
    reader = LandingStore(root)
    _, cursor = reader.read_after("slack", None, 1)
    _segments(root, "slack")[0].unlink()
    events, _ = reader.read_after("slack", cursor, 10)
    assert [e.id for e in events] == ["Ev1", "Ev2"]


def test_invalid_cursor_source_and_limit(store: LandingStore) -> None:
    _append(store, "slack", "Ev0")
    _, cursor = store.read_after("slack", None, 1)
    assert cursor is not None
    with pytest.raises(ValueError, match="belongs to source"):
        store.read_after("github", cursor, 1)
    for bad in ["", "garbage", "slack:x:1", "slack:1", "slack:-1:2"]:
        with pytest.raises(ValueError):
            store.read_after("slack", bad, 1)
        with pytest.raises(ValueError):
            store.count_after("slack", bad)
    for bad_source in ["../etc", "Slack", "", "a/b"]:
        with pytest.raises(ValueError):
            store.read_after(bad_source, None, 1)
        with pytest.raises(ValueError):
            store.append(bad_source, "x", "t", {}, {})
    with pytest.raises(ValueError):
        store.read_after("slack", None, 0)


def test_unstorable_payload_is_refused_before_queueing(store: LandingStore) -> None:
    with pytest.raises(UnstorablePayloadError):
        store.append("slack", "Ev-nan", "message", {"x": float("nan")}, {})
    assert store.count_after("slack", None) == 0
    assert store.append("slack", "Ev-nan", "message", {"x": 1}, {})


def test_single_writer_lock(tmp_path: Path) -> None:
    root = tmp_path / "land"
    with LandingStore(root) as store:
        _append(store, "slack", "Ev0")
        other = LandingStore(root)
        with pytest.raises(LandingStoreLockedError):
            other.open()
        # Readers need no lock.
        assert other.count_after("slack", None) == 1
    with LandingStore(root) as again:  # released on close
        assert _append(again, "slack", "Ev1")


def test_concurrent_appends_land_each_id_exactly_once(tmp_path: Path) -> None:
    root = tmp_path / "land"
    batches: list[int] = []
    results: dict[str, list[bool]] = {}
    lock = threading.Lock()
    with LandingStore(root, on_batch=batches.append) as store:

        def worker(w: int) -> None:
            for i in range(40):
                eid = f"id-{(w * 40 + i) % 600}"  # ids 0..599 sent twice across workers
                ok = store.append("github", eid, "push", {"w": w, "i": i}, {})
                with lock:
                    results.setdefault(eid, []).append(ok)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(v.count(True) == 1 for v in results.values())
    ids = [e.id for e in _read_all(LandingStore(root), "github", limit=5000)]
    assert len(ids) == len(set(ids)) == 600
    assert sum(batches) == 1200


def test_append_async_group_commit(store: LandingStore) -> None:
    async def main() -> list[bool]:
        coros = [
            store.append_async("slack", f"Ev{i % 150}", "message", {"i": i}, {}) for i in range(300)
        ]
        return await asyncio.gather(*coros)

    results = asyncio.run(main())
    assert results.count(True) == 150
    assert store.count_after("slack", None) == 150


def test_reader_in_another_process_while_writing(store: LandingStore) -> None:
    for i in range(20):
        _append(store, "slack", f"Ev{i}", i)
    root = store_root(store)
    code = (
        "import sys; from sophia_pipeline.webhooks.landing import LandingStore;"
        "s = LandingStore(sys.argv[1]); ev, cur = s.read_after('slack', None, 5);"
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


class _FlakySegment:
    """Writes half the data, then fails: a disk that filled up mid-write."""

    def __init__(self, inner: SegmentFile, fail: list[bool]) -> None:
        self._inner = inner
        self._fail = fail

    @property
    def size(self) -> int:
        return self._inner.size

    def append_durable(self, data: bytes) -> None:
        if self._fail and self._fail.pop():
            self._inner.append_durable(data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        self._inner.append_durable(data)

    def truncate(self, size: int) -> None:
        self._inner.truncate(size)

    def close(self) -> None:
        self._inner.close()


class _FlakyBackend(LocalFolderBackend):
    def __init__(self, root: Path, fail: list[bool]) -> None:
        super().__init__(root)
        self.fail = fail

    def create_segment(self, source: str, seq: int) -> Any:
        return _FlakySegment(super().create_segment(source, seq), self.fail)


def test_failed_write_is_not_acknowledged_and_can_be_retried(tmp_path: Path) -> None:
    root = tmp_path / "land"
    backend = _FlakyBackend(root, [])
    with LandingStore(backend) as store:
        assert _append(store, "slack", "Ev0")
        backend.fail.append(True)
        with pytest.raises(LandingError):
            _append(store, "slack", "Ev1")
        assert not store.is_writable()
        assert _append(store, "slack", "Ev1")  # the failed id was not marked as seen
        assert store.is_writable()
    names = [p.name for p in _segments(root, "slack")]
    assert names == [segment_name(1), segment_name(2)]  # the failed segment was abandoned
    reader = LandingStore(root)
    assert [e.id for e in _read_all(reader, "slack")] == ["Ev0", "Ev1"]
    # Truncated back: no torn half-line was left in the abandoned segment.
    assert (root / "slack" / segment_name(1)).read_bytes().endswith(b"\n")


def test_closed_store_reopens_lazily(tmp_path: Path) -> None:
    store = LandingStore(tmp_path / "land")
    assert not store.is_writable()
    assert _append(store, "slack", "Ev0")
    assert store.is_open and store.is_writable()
    store.close()
    assert not store.is_open
    assert not _append(store, "slack", "Ev0")  # lazily reopened with the rebuilt index
    store.close()
