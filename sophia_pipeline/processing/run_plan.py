"""Which days a ``sophia-pipeline run`` must process: the landed days whose inputs changed
since the last run that succeeded, or nothing at all.

Pure: the command gathers the fingerprints and the stores' counts, and records them after
a run succeeds; this module only compares. Every rule errs towards running: a run over
days that did not change adds nothing (every stage is idempotent), while a skipped day
that did change would leave the stores behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

DayKey = tuple[str, date]  # (source, landing day)


@dataclass(frozen=True)
class RunInputs:
    """What a run's outcome depends on, read before it starts."""

    # The pipeline's code, settings, competitor catalog and model: a change re-runs all.
    code: str
    # One fingerprint per source and landed day: the content of that day's files.
    days: Mapping[DayKey, str]
    # The calendar day (UTC): the dashboard and report are computed relative to it.
    today: date


@dataclass(frozen=True)
class RecordedRun:
    """The inputs a run succeeded on and what the stores held when it finished."""

    run_id: str
    inputs: RunInputs
    # Rows per table and vectors in the index, right after that run (the tables of this
    # record and the embed-run log left out: they change with every run by design).
    counts: Mapping[str, int]


@dataclass(frozen=True)
class RunPlan:
    """``start``/``end`` (inclusive) of the one run to launch, or None: nothing to do."""

    start: date | None
    end: date | None
    reason: str
    changed_days: frozenset[DayKey] = field(default_factory=frozenset)

    @property
    def nothing_to_do(self) -> bool:
        return self.start is None


def landed_range(inputs: RunInputs) -> tuple[date, date] | None:
    landed = [day for _, day in inputs.days]
    return (min(landed), max(landed)) if landed else None


def plan_run(
    current: RunInputs, counts_now: Mapping[str, int], last: RecordedRun | None
) -> RunPlan:
    """The run ``current`` needs after ``last`` (None: no run has succeeded yet)."""
    landed = landed_range(current)
    if landed is None:
        return RunPlan(None, None, "no landing files")
    first_day, last_day = landed
    if last is None:
        return RunPlan(first_day, last_day, "no earlier run succeeded on this data directory")
    if last.inputs.code != current.code:
        return RunPlan(
            first_day, last_day, "the pipeline's code, settings, catalog or model changed"
        )
    if dict(last.counts) != dict(counts_now):
        # Something else wrote the stores (a webhook batch, a UI run) or emptied them (a
        # deleted index folder): the record no longer describes them.
        return RunPlan(first_day, last_day, "the stores' row counts differ from the last run's")
    changed = frozenset(
        key
        for key in set(current.days) | set(last.inputs.days)
        if current.days.get(key) != last.inputs.days.get(key)
    )
    if changed:
        days = [day for _, day in changed]
        sources = sorted({source for source, _ in changed})
        return RunPlan(
            min(days),
            max(days),
            f"{len(changed)} landed day file set(s) changed ({', '.join(sources)})",
            changed,
        )
    if current.today != last.inputs.today:
        # The dashboard series and the report are "as of today": one day's run refreshes
        # every unpartitioned asset; the partitioned ones redo that day only.
        return RunPlan(last_day, last_day, f"a new day ({current.today}) for the dashboard")
    return RunPlan(None, None, f"nothing changed since run {last.run_id}")


def inputs_after_run(
    current: RunInputs, last: RecordedRun | None, start: date, end: date
) -> RunInputs:
    """What to record once a run over ``[start, end]`` succeeded on ``current``.

    Days the run covered take their current fingerprint. Days outside it keep the one of
    the run that last processed them, when the code has not changed since; otherwise they
    are left out, so the next run processes them again.
    """
    kept: dict[DayKey, str] = {}
    if last is not None and last.inputs.code == current.code:
        kept = {k: v for k, v in last.inputs.days.items() if not start <= k[1] <= end}
    covered = {k: v for k, v in current.days.items() if start <= k[1] <= end}
    return RunInputs(code=current.code, days={**kept, **covered}, today=current.today)
