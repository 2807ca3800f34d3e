"""Checks on every source's raw asset: freshness, and dead letters that keep coming.

- Freshness: the raw asset was materialized recently enough for its cadence (hourly for
  the API and webhook sources, daily for CoStar's batches). The checks run from their
  own sensor, so a source that silently stopped shows up even when no run happens.
- Dead-letter growth: after each materialization, the dead letters of the partition are
  counted and compared with the count the previous check saw; more than before fails
  the check (not blocking: the good records of the batch loaded and may flow on). The
  count a check saw is kept in OPS.DEAD_LETTER_WATERMARKS, so the check is about *new*
  failures: a partition whose letters were already reported passes again on the next
  run, and one whose letters were replayed shrinks back.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import dagster as dg

from sophia_pipeline.defs.keys import raw_key
from sophia_pipeline.partitions import daily_partitions
from sophia_pipeline.settings import Profile, Settings, current_settings
from sophia_pipeline.sources.registry import SPECS, SourceSpec
from sophia_pipeline.store.ops import dead_letter_counts, save_watermarks, watermarks
from sophia_pipeline.store.warehouse import Warehouse


def freshness_bounds() -> dict[str, timedelta]:
    """How old each source's raw asset's last materialization may be (its spec's
    ``freshness``: cadence plus slack)."""
    return {name: spec.freshness for name, spec in SPECS.items()}


DEAD_LETTER_CHECK = "dead_letters_not_growing"


@contextmanager
def checks_not_policies() -> Iterator[None]:
    """Dagster 1.13 marks freshness checks superseded by ``FreshnessPolicy`` on the asset.
    Checks are kept on purpose: a policy would have to live on the raw assets themselves
    (``assets/sources.py``), and the open-source freshness daemon judges a policy by
    materializations only, so an observed external asset (Estuary) would stay UNKNOWN.
    The warning would otherwise print at every code location load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        yield


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    by_bound: dict[timedelta, list[dg.AssetKey]] = {}
    for source, bound in freshness_bounds().items():
        by_bound.setdefault(bound, []).append(raw_key(source))
    with checks_not_policies():
        return [
            check
            for bound, keys in sorted(by_bound.items())
            for check in dg.build_last_update_freshness_checks(assets=keys, lower_bound_delta=bound)
        ]


# --- dead-letter growth -------------------------------------------------------------------


def grown(before: dict[date, int], now: dict[date, int]) -> dict[date, int]:
    """Days whose dead-letter count rose, with by how much."""
    return {d: n - before.get(d, 0) for d, n in sorted(now.items()) if n > before.get(d, 0)}


def dead_letter_check(spec: SourceSpec, settings: Settings) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(spec.name),
        name=DEAD_LETTER_CHECK,
        partitions_def=daily_partitions(settings),
        blocking=False,
        description=(
            f"Fails when the partition's {spec.name} dead letters grew since the last check "
            "(new malformed records: look at OPS.DEAD_LETTERS, fix, run dead_letter_replay)."
        ),
    )
    def check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        before = watermarks(warehouse, spec.name, start, end)
        now = dead_letter_counts(warehouse, spec.name, start, end)
        new = grown(before, now)
        save_watermarks(warehouse, spec.name, start, end, now)
        return dg.AssetCheckResult(
            passed=not new,
            description=(
                f"{sum(new.values())} new dead letters on {', '.join(map(str, new))}"
                if new
                else "no new dead letters"
            ),
            metadata={
                "dead_letters": sum(now.values()),
                "new_dead_letters": sum(new.values()),
                "previously_seen": sum(before.values()),
                "window": f"{start}..{end}",
            },
        )

    return check


def build_checks(settings: Settings) -> dg.Definitions:
    freshness = freshness_checks()
    running = settings.profile is Profile.PROD
    with checks_not_policies():
        sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=freshness,
            name="raw_freshness_checks_sensor",
            # Locally nothing runs on a cadence, so every check would just fail.
            default_status=(
                dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
            ),
        )
    return dg.Definitions(
        asset_checks=[*freshness, *(dead_letter_check(s, settings) for s in SPECS.values())],
        sensors=[sensor],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_checks(current_settings())
