"""The dead-letter replay job: re-processes OPS.DEAD_LETTERS once the cause is fixed.

A record lands in the dead-letter table with the reason it was refused. Once the cause
is gone (the code now accepts it, or an operator corrected ``payload`` in the table),
launch ``dead_letter_replay`` (optionally narrowed to sources or ids in its config).
Each letter is parsed again exactly like a landing line; one that now passes is
appended to its source's raw table in its partition and removed from the dead-letter
table in the same transaction, so a crash mid-replay neither loses nor duplicates it.
One that still fails stays, with the new reason, ``attempts`` + 1 and ``last_seen``.

Each raw partition that gained records gets a materialization event, which the eager
documents stage downstream reacts to.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import dagster as dg
import pandas as pd

from sophia_pipeline.defs.policies import IO_RETRY
from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.processing.frames import records
from sophia_pipeline.resources.prod_readers import to_landing
from sophia_pipeline.settings import Settings, current_settings
from sophia_pipeline.sources.landing import Accepted, Rejected, canonical_json, validate_record
from sophia_pipeline.sources.registry import SPECS, SourceSpec
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.ops import dead_letters_to_replay, delete_dead_letters, keep_failing
from sophia_pipeline.store.raw import append_raw
from sophia_pipeline.store.warehouse import Warehouse
from sophia_pipeline.webhooks.batches import WEBHOOK_SOURCES

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def entity_of(spec: SourceSpec, source_file: str | None) -> str | None:
    """The entity of a dead letter, from the folder in its source file
    (``.../hubspot/deals/2025-01-02.jsonl``, ``api:hubspot/deals``)."""
    if len(spec.folders) == 1:
        return next(iter(spec.folders))
    parts = PurePosixPath((source_file or "").replace("\\", "/")).parts
    by_folder = {folder: entity for entity, folder in spec.folders.items()}
    for prev, part in zip(parts, parts[1:], strict=False):
        if part in by_folder and prev.split(":")[-1] == spec.name:
            return by_folder[part]
    # A webhook segment names no landing folder: webhooks deliver the first entity
    # (Slack messages, GitHub events), as ``webhooks/batches.py`` records them.
    if spec.name in WEBHOOK_SOURCES:
        return next(iter(spec.folders))
    return None


def _opt_date(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def replay_day(source_file: str | None, partition_date: Any) -> date:
    """The partition a replayed record goes to: the day in its file's name when it has
    one (a multi-day run stamps its letters with the window's first day), else the
    letter's partition, else today."""
    match = _DATE_IN_NAME.search(Path(source_file or "").name)
    if match:
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            pass
    return _opt_date(partition_date) or now_utc().date()


@dataclass
class ReplayOutcome:
    replayed: Counter[tuple[str, date]] = field(default_factory=Counter)  # letters resolved
    still_failing: Counter[str] = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)  # dead letter id -> reason now

    @property
    def resolved(self) -> int:
        return sum(self.replayed.values())


def reparse(spec: SourceSpec, row: dict[str, Any]) -> Accepted[Any] | Rejected:
    """One dead-letter row parsed again, as its reader would parse it today."""
    source_file = str(row.get("source_file") or f"dead-letter:{spec.name}")
    line_no = int(row.get("line_no") or 0)
    payload = str(row.get("payload") or "")
    day = replay_day(row.get("source_file"), row.get("partition_date"))
    entity = entity_of(spec, row.get("source_file"))
    if entity is None:
        return Rejected(payload, source_file, line_no, "replay: cannot tell the entity")
    try:
        obj = to_landing(spec.name, json.loads(payload))
    except json.JSONDecodeError as exc:
        return Rejected(payload, source_file, line_no, f"invalid JSON: {exc.msg}")
    except RecursionError:
        return Rejected(payload, source_file, line_no, "invalid JSON: nested too deeply")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Rejected(payload, source_file, line_no, f"schema violation: {exc!r}"[:500])
    return validate_record(
        obj,
        canonical_json(obj),
        Path(source_file),
        line_no,
        lambda o: spec.parse(entity, o),
        entity,
        day,
    )


def replay_dead_letters(
    wh: Warehouse,
    sources: list[str] | None = None,
    ids: list[str] | None = None,
    limit: int = 10_000,
) -> ReplayOutcome:
    """Re-processes dead letters (of ``sources``, or ``ids``; all when both are empty)
    in one transaction per source."""
    outcome = ReplayOutcome()
    rows = dead_letters_to_replay(wh, sources, ids, limit)
    for source, group in rows.groupby("source", sort=True):
        spec = SPECS.get(str(source))
        if spec is None:
            continue  # a letter of a source this code no longer has: left for a human
        letters = records(group)
        results = [(row, reparse(spec, row)) for row in letters]
        ok = [(row, r) for row, r in results if isinstance(r, Accepted)]
        with wh.transaction() as tx:
            accepted = [r for _, r in ok]
            append_raw(tx, spec.raw_table, accepted, spec.record_id, by_id_only=spec.by_id_only)
            delete_dead_letters(tx, [row["dead_letter_id"] for row, _ in ok])
            for row, r in results:
                if isinstance(r, Rejected):
                    keep_failing(tx, row, r.error)
                    outcome.still_failing[spec.name] += 1
                    outcome.errors[row["dead_letter_id"]] = r.error
        for _, a in ok:
            outcome.replayed[(spec.name, a.day)] += 1  # type: ignore[index]
    return outcome


class ReplayConfig(dg.Config):
    sources: list[str] = []  # empty: every source
    dead_letter_ids: list[str] = []  # empty: every letter of those sources
    limit: int = 10_000  # at most this many letters per run, oldest first


def build_replay_job(settings: Settings) -> dg.JobDefinition:
    """The ``dead_letter_replay`` job; ``settings`` say where the partitions start."""

    @dg.op(retry_policy=IO_RETRY, tags={"kind": "replay"})
    def replay_dead_letters_op(
        context: dg.OpExecutionContext, config: ReplayConfig, warehouse: Warehouse
    ) -> dg.Output[None]:
        """Parses dead letters again and moves the ones that now pass into the raw layer."""
        return replay_and_report(context, config, warehouse, settings)

    @dg.job(
        name="dead_letter_replay",
        description=(
            "Re-processes OPS.DEAD_LETTERS after a fix: letters that now parse are appended "
            "to their raw table and removed; the others stay with their new reason."
        ),
    )
    def dead_letter_replay() -> None:
        replay_dead_letters_op()

    return dead_letter_replay


def replay_and_report(
    context: dg.OpExecutionContext, config: ReplayConfig, warehouse: Warehouse, settings: Settings
) -> dg.Output[None]:
    outcome = replay_dead_letters(
        warehouse, config.sources or None, config.dead_letter_ids or None, config.limit
    )
    partitions = daily_partitions(settings)
    for (source, day), n in sorted(outcome.replayed.items()):
        key = day.isoformat()
        if not partitions.has_partition_key(key):
            continue  # a day outside the partitions (before their start): no event to emit
        context.log_event(
            dg.AssetMaterialization(
                asset_key=dg.AssetKey.from_user_string(SPECS[source].raw_asset),
                partition=key,
                metadata={"replayed_dead_letters": n},
                description="dead letters replayed into the raw layer",
            )
        )
    for dl_id, error in outcome.errors.items():
        context.log.warning(f"dead letter {dl_id} still fails: {error}")
    context.log.info(
        f"replayed {outcome.resolved} dead letters; "
        f"{sum(outcome.still_failing.values())} still failing"
    )
    return dg.Output(
        None,
        metadata={
            "replayed": outcome.resolved,
            "still_failing": sum(outcome.still_failing.values()),
            "by_source": dict(Counter(s for s, _ in outcome.replayed.elements())),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[build_replay_job(current_settings())])
