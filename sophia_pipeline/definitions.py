"""The code location's root: everything under ``defs/`` plus what applies to all of it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from sophia_pipeline.defs.airbyte import with_airbyte_lineage
from sophia_pipeline.settings import Settings, StepExecutor, load_settings, use_settings

# The job `sophia-pipeline run` launches: every asset, one run over a date range. A named
# job (not materialize()'s `__ephemeral_asset_job__`) so its runs show in the UI under
# this name, with their assets, and can be re-executed from there.
FULL_RUN_JOB = "full_pipeline"

# Dagster's per-run override of `run_retries.max_retries` in dagster.yaml.
AUTOMATION_RUN_RETRIES = ("dagster/max_retries", "0")


def full_run_job() -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        FULL_RUN_JOB,
        selection=dg.AssetSelection.all(),
        # One process runs every step: a no-change re-run of the demo is ~40 short steps,
        # and a subprocess per step spent most of its time importing this location again
        # (seconds of CPU each); the model, too, is loaded once, not once per source.
        executor_def=dg.in_process_executor,
        description=(
            "Every asset, in one in-process run over a date range (partition range tags): "
            "what `sophia-pipeline run` launches. Re-execute it here to repeat a CLI run."
        ),
    )


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every definition for ``settings``; each defs module reads them with
    ``current_settings()`` while the defs folder loads."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    root = dg.Definitions(
        jobs=[full_run_job()],
        executor=_executor(settings),
        sensors=[
            dg.AutomationConditionSensorDefinition(
                "default_automation_sensor",
                target=dg.AssetSelection.all(),
                # Off until the operator turns it on in the UI (Automation page): opening
                # the UI must not start runs by itself.
                default_status=dg.DefaultSensorStatus.STOPPED,
                # No run retries for automation's runs: the next tick requests again what is
                # still missing or stale, so a retry only doubles it. With retries, runs cut
                # off by stopping the UI came back as a storm of retries at the next start.
                run_tags={AUTOMATION_RUN_RETRIES[0]: AUTOMATION_RUN_RETRIES[1]},
            )
        ],
    )
    with use_settings(settings):
        loaded = _build_defs_modules()
    merged = dg.Definitions.merge(loaded, root)
    # In prod with Airbyte configured, each Airbyte-fed raw asset depends on its sync.
    return with_airbyte_lineage(merged, settings)


def _executor(settings: Settings) -> dg.ExecutorDefinition:
    if settings.step_executor is StepExecutor.K8S:
        # One Kubernetes Job per step, launched from the run pod (K8sRunLauncher): the
        # embedding steps then get the resources their `dagster-k8s/config` op tag asks.
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    # Two cores here: more concurrent steps only fight over the CPU and the DuckDB lock.
    return dg.multiprocess_executor.configured({"max_concurrent": 2})


def _build_defs_modules() -> dg.Definitions:
    """Every module of the defs folder, built one by one and merged.

    ``ComponentTree.build_defs()`` at the root would also import every installed library
    that registers component types, to describe them for `dg`'s component palette:
    dagster-snowflake's import alone took about 3 s of every process that loads this
    location (the UI's code server, each CLI run). This location has no YAML components,
    so building each module gives the same definitions without that import.
    """
    tree = _defs_tree()
    root = tree.defs_module_path
    modules = sorted(p for p in root.rglob("*.py") if p.name != "__init__.py")
    return dg.Definitions.merge(*(tree.build_defs_at_path(p.relative_to(root)) for p in modules))


def _defs_tree() -> dg.ComponentTree:
    """The defs folder's tree, built from the imported ``defs`` package itself.

    ``load_from_defs_folder`` finds the project by walking up to ``pyproject.toml``, which
    an installed wheel (the image) does not have; the tree needs only the module, the
    folder above the package, and the location name ``[tool.dg.project]`` gives.
    """
    import sophia_pipeline.defs as defs_module

    return dg.ComponentTree(
        defs_module=defs_module,
        project_root=Path(__file__).resolve().parent.parent,
        code_location_name="sophia_pipeline",
    )


@dg.definitions
def defs() -> dg.Definitions:
    # Read here, once per load, not at import: tests switch profiles by env vars freely.
    return build_definitions(load_settings())
