"""The vector count remembered beside the LanceDB table: read back only while the table
is unchanged, never a count of another version."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sophia_pipeline.resources.lance_row_count import RowCountCache
from sophia_pipeline.resources.lancedb_store import LanceDBVectorStore
from sophia_pipeline.resources.local_stores import (
    VECTOR_TABLE,
    local_vector_count,
    local_vector_store,
)
from sophia_pipeline.settings import Settings, load_settings
from sophia_pipeline_tests.factories import vector_record


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return load_settings()


rec = vector_record


def cache(settings: Settings) -> RowCountCache:
    return RowCountCache(settings.lancedb_dir, VECTOR_TABLE)


def test_a_count_is_remembered_until_the_table_changes(settings: Settings) -> None:
    store = local_vector_store(settings)
    store.upsert([rec(i) for i in range(3)])
    assert cache(settings).get() is None  # a write alone remembers nothing
    assert store.count() == 3
    assert cache(settings).get() == 3
    assert local_vector_count(settings) == 3


def test_a_write_after_the_count_is_counted_again(settings: Settings) -> None:
    store = local_vector_store(settings)
    store.upsert([rec(i) for i in range(3)])
    assert local_vector_count(settings) == 3
    # Another writer (a run), through its own store object.
    local_vector_store(settings).upsert([rec(i) for i in range(3, 5)])
    assert cache(settings).get() is None
    assert local_vector_count(settings) == 5
    assert cache(settings).get() == 5  # the recount is remembered
    local_vector_store(settings).delete(["gong:call:0#0"])
    assert local_vector_count(settings) == 4
    # An upsert of existing ids changes no count, but is a new version all the same.
    local_vector_store(settings).upsert([rec(1)])
    assert cache(settings).get() is None
    assert local_vector_count(settings) == 4


def test_a_removed_or_recreated_table_is_counted_again(settings: Settings) -> None:
    store = local_vector_store(settings)
    store.upsert([rec(i) for i in range(3)])
    assert local_vector_count(settings) == 3
    shutil.rmtree(settings.lancedb_dir / f"{VECTOR_TABLE}.lance")
    assert local_vector_count(settings) == 0
    # The same history again (same version numbers): still a different table.
    local_vector_store(settings).upsert([rec(i) for i in range(2)])
    assert local_vector_count(settings) == 2


def test_no_lancedb_folder_counts_zero_and_creates_nothing(settings: Settings) -> None:
    assert local_vector_count(settings) == 0
    assert not settings.lancedb_dir.exists()


def test_a_version_committed_while_counting_is_not_remembered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = local_vector_store(settings)
    store.upsert([rec(i) for i in range(3)])
    opened = LanceDBVectorStore._existing
    writes = [rec(9)]

    def open_then_another_write(self: LanceDBVectorStore) -> object:
        table = opened(self)
        if writes:
            # Another writer commits after the token was read, before the count is taken.
            local_vector_store(settings).upsert([writes.pop()])
        return table

    monkeypatch.setattr(LanceDBVectorStore, "_existing", open_then_another_write)
    store.count()
    monkeypatch.undo()
    assert cache(settings).get() is None
    assert local_vector_count(settings) == 4


def test_an_unreadable_cache_file_is_a_miss(settings: Settings) -> None:
    store = local_vector_store(settings)
    store.upsert([rec(i) for i in range(2)])
    store.count()
    for garbage in ("not json", "[]", '{"token": null, "rows": 2}'):
        cache(settings).path.write_text(garbage)
        assert cache(settings).get() is None
        assert local_vector_count(settings) == 2


def test_a_cache_that_cannot_be_written_costs_only_a_recount(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = local_vector_store(settings)
    store.upsert([rec(i) for i in range(2)])

    def read_only(*_: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(os, "replace", read_only)
    assert store.count() == 2
    monkeypatch.undo()
    assert cache(settings).get() is None
    assert sorted(p.name for p in settings.lancedb_dir.iterdir()) == [f"{VECTOR_TABLE}.lance"]


def test_the_cache_file_is_not_a_table_to_lancedb(settings: Settings) -> None:
    store = local_vector_store(settings)
    store.upsert([rec(0)])
    store.count()
    assert cache(settings).path.exists()
    import lancedb

    assert list(lancedb.connect(settings.lancedb_dir).list_tables().tables) == [VECTOR_TABLE]
