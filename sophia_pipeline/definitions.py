"""The code location's root: everything under ``defs/`` plus what applies to all of it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from sophia_pipeline.defs.airbyte import with_airbyte_lineage
from sophia_pipeline.settings import Settings, load_settings, use_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every definition for ``settings``; each defs module reads them with
    ``current_settings()`` while the defs folder loads."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    root = dg.Definitions(
        # Two cores here: more concurrent steps only fight over the CPU and the DuckDB lock.
        executor=dg.multiprocess_executor.configured({"max_concurrent": 2}),
        sensors=[
            dg.AutomationConditionSensorDefinition(
                "default_automation_sensor",
                target=dg.AssetSelection.all(),
                # Off until the operator turns it on in the UI (Automation page): opening
                # the UI must not start runs by itself.
                default_status=dg.DefaultSensorStatus.STOPPED,
            )
        ],
    )
    with use_settings(settings):
        loaded = dg.load_from_defs_folder(project_root=Path(__file__).resolve().parent.parent)
    merged = dg.Definitions.merge(loaded, root)
    # In prod with Airbyte configured, each Airbyte-fed raw asset depends on its sync.
    return with_airbyte_lineage(merged, settings)


@dg.definitions
def defs() -> dg.Definitions:
    # Read here, once per load, not at import: tests switch profiles by env vars freely.
    return build_definitions(load_settings())
