"""An eighth landing-file source needs its own files and a registry entry, nothing else.

The test adds a toy source exactly as the README's "Adding a source" says: a module in
``sources/`` (schema + normalizer), an entry in the registry's ``SPECS`` (here added with
monkeypatch), and a sample generator module in ``sample/`` (here both modules are written
to a folder put on their package's ``__path__``, which is what dropping a file into the
package does). With no other file changed, the sample generator writes its landing files,
the code location has its raw and documents assets and their checks, the warehouse has
its raw table, the two assets materialize over DuckDB in ``tmp_path`` (through the
landing-file reader every registered source gets), and ``status`` counts its rows.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pytest

import sophia_pipeline.defs
import sophia_pipeline.sample
import sophia_pipeline.sources
from sophia_pipeline.cli.status import collect_status
from sophia_pipeline.definitions import defs
from sophia_pipeline.documents import Document
from sophia_pipeline.sample import generate, owned
from sophia_pipeline.settings import load_settings
from sophia_pipeline.sources.registry import SPECS, Lookup, RawRecord, SourceSpec
from sophia_pipeline.store.duckdb_warehouse import DuckDBWarehouse
from sophia_pipeline_tests.fakes import with_hash_embedder

REF = date(2026, 11, 20)
DAYS = [REF - timedelta(days=d) for d in (3, 2, 1)]
NOTES_PER_DAY = 2

SOURCE_MODULE = '''
"""Toy notes: landing/toy/notes/<day>.jsonl, one note per line."""

from pydantic import AwareDatetime, BaseModel, Field

from sophia_pipeline.documents import Document, DocumentKind

ENTITY = "note"


class ToyNote(BaseModel):
    id: str = Field(min_length=1)
    title: str
    body: str
    written_at: AwareDatetime


def normalize(note: ToyNote) -> Document:
    return Document(
        doc_id=Document.make_id("toy", ENTITY, note.id),
        source="toy",
        entity_type=ENTITY,
        source_id=note.id,
        kind=DocumentKind.DOCUMENT,
        title=note.title,
        text=f"# {note.title}\\n\\n{note.body}\\n",
        occurred_at=note.written_at,
    )
'''

SAMPLE_MODULE = '''
"""Sample toy notes about the world's companies, the last three days of the window."""

from datetime import timedelta

from .base import SampleRun, SampleSource
from .common import iso_z, write_jsonl_by_day


def write_sample(run: SampleRun) -> dict[str, int]:
    rng = run.rng("toy")
    notes = []
    for days_back in (3, 2, 1):
        for i in range(NOTES_PER_DAY):
            at = run.window.end - timedelta(days=days_back) + timedelta(hours=9 + i)
            company = rng.choice(run.world.companies)
            note_id = f"note-{days_back}-{i}"
            note = {
                "id": note_id,
                "title": f"Visit to {company.name}",
                "body": f"Met the team at {company.name}; they asked about pricing.",
                "written_at": iso_z(at),
            }
            notes.append((at, note_id, note))
    return {"toy/notes": write_jsonl_by_day(run.landing_dir / "toy" / "notes", notes)}


SAMPLE = SampleSource(order=80, folders=("toy/notes",), write=write_sample)
'''


def add_module(
    package: ModuleType, name: str, source: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """``source`` as the module ``<package>.<name>``, found on the package's path as a
    file in the package would be."""
    folder.mkdir(parents=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    return importlib.import_module(f"{package.__name__}.{name}")


def import_every_defs_module() -> None:
    """Imports every defs module before the toy is registered. One reads ``SPECS`` at
    import (``defs/assets/processing.py``'s ``SOURCES``, for the chunk and embedding
    assets): imported while the toy is registered it would keep the toy for the rest of
    the session. So here the toy gets raw and documents assets only; a source written
    into ``SPECS`` gets its chunk and embedding assets from that list too."""
    for module in pkgutil.walk_packages(sophia_pipeline.defs.__path__, "sophia_pipeline.defs."):
        importlib.import_module(module.name)


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceSpec]:
    import_every_defs_module()
    names = ["sophia_pipeline.sources.toy", "sophia_pipeline.sample.toy"]
    try:
        module = add_module(
            sophia_pipeline.sources, "toy", SOURCE_MODULE, tmp_path / "sources", monkeypatch
        )
        add_module(
            sophia_pipeline.sample,
            "toy",
            SAMPLE_MODULE.replace("NOTES_PER_DAY", str(NOTES_PER_DAY)),
            tmp_path / "sample",
            monkeypatch,
        )

        def to_documents(records: list[RawRecord], lookup: Lookup) -> list[tuple[Document, date]]:
            return [(module.normalize(r.record), r.day) for r in records]

        # The registry entry, as it would be written in SPECS.
        spec = SourceSpec(
            name="toy",
            raw_asset="raw_toy_notes",
            raw_table="raw.toy_notes",
            folders={"note": "notes"},
            parse=lambda e, o: module.ToyNote.model_validate(o),
            record_id=lambda e, r: r.id,
            to_documents=to_documents,
            description="Toy notes (by written_at day)",
        )
        monkeypatch.setitem(SPECS, "toy", spec)
        yield spec
    finally:
        for name in names:
            sys.modules.pop(name, None)


def keys_of(d: dg.Definitions, source: str) -> list[dg.AssetKey]:
    return [
        key
        for a in d.assets or []
        if isinstance(a, dg.AssetsDefinition)
        for key in a.keys
        if a.tags_by_key.get(key, {}).get("source") == source
    ]


def test_an_eighth_landing_file_source_needs_only_its_own_files(
    data_dir: Path, toy: SourceSpec
) -> None:
    settings = load_settings()
    counts = generate(settings.landing_dir, seed=7, reference_date=REF)
    assert counts["toy/notes"] == len(DAYS) * NOTES_PER_DAY
    assert "toy/notes" in owned()
    assert sorted(p.stem for p in (settings.landing_dir / "toy" / "notes").iterdir()) == [
        d.isoformat() for d in DAYS
    ]

    d = defs()
    graph = d.resolve_asset_graph()
    # Found by tag and lineage, not by name: the key scheme is not what is under test.
    toy_keys = keys_of(d, "toy")
    (raw_key,) = [k for k in toy_keys if not graph.get(k).parent_keys]
    (documents_key,) = [k for k in toy_keys if graph.get(k).parent_keys == {raw_key}]
    resources: dict[str, Any] = dict(d.resources or {})
    assert "raw.toy_notes" in resources["warehouse"].raw_tables
    checks = {(k.asset_key, k.name) for k in graph.asset_check_keys}
    assert {(raw_key, "dead_letters_not_growing"), (raw_key, "freshness_check")} <= checks

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            list(d.assets or []),
            resources=with_hash_embedder(resources),
            instance=instance,
            selection=[raw_key, documents_key],
            tags={
                "dagster/asset_partition_range_start": DAYS[0].isoformat(),
                "dagster/asset_partition_range_end": DAYS[-1].isoformat(),
            },
        )
    assert result.success

    wh = DuckDBWarehouse(path=str(settings.duckdb_path))
    notes = len(DAYS) * NOTES_PER_DAY
    assert wh.count("raw.toy_notes") == notes
    docs = wh.query("SELECT doc_id, kind FROM staging.documents WHERE source = 'toy'")
    assert len(docs) == notes
    assert set(docs["kind"]) == {"document"}
    assert collect_status(settings)["tables"]["raw.toy_notes"] == notes
