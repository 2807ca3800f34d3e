"""The ``sophia-pipeline`` command."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import warnings
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sophia_pipeline.serving.errors import InvalidRequest, ServingError, validation_message
from sophia_pipeline.settings import Settings, SettingsError, load_settings

# The instance config beside pyproject.toml (the CLI runs from the project checkout).
DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"

if TYPE_CHECKING:  # the commands import their modules lazily: a fast `--help`
    from sophia_pipeline.documents import DocumentKind
    from sophia_pipeline.processing.chunking.base import TokenCounterLike
    from sophia_pipeline.processing.run_plan import RecordedRun, RunInputs


def _dagster_home(settings: Settings) -> Path:
    """Run history under the data dir, so the UI shows CLI runs (unless DAGSTER_HOME is set)."""
    home = settings.dagster_home
    # Written, not read: Dagster finds its instance through DAGSTER_HOME, in this process
    # (DagsterInstance.get()) and in the run's child step processes, which inherit it.
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(DAGSTER_YAML, config)
    return home


def landed_date_range(landing_dir: Path) -> tuple[date, date] | None:
    """The first and last day any source has a landing file for: the files its reader
    reads (``SourceSpec.landed_files``), as the run planner fingerprints them."""
    from sophia_pipeline.sources.registry import SPECS

    days = [day for spec in SPECS.values() for _, day, _ in spec.landed_files(landing_dir)]
    return (min(days), max(days)) if days else None


def iso_date(text: str) -> date:
    """An argparse type: a bad date is a usage error naming it, not a traceback."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def cmd_sample(args: argparse.Namespace) -> int:
    from sophia_pipeline.sample.generator import generate

    settings = load_settings()
    counts = generate(
        settings.landing_dir, scale=args.scale, seed=args.seed, reference_date=args.reference_date
    )
    print(json.dumps({"landing_dir": str(settings.landing_dir), "written": counts}, indent=2))
    return 0


def _say(message: str) -> None:
    print(f"[sophia] {message}", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from sophia_pipeline.reliability.writer_lock import WriterLockTimeout, writer_lock

    settings = load_settings()
    # One writing run per data directory, taken before Dagster's instance is created: two
    # runs on a fresh directory would otherwise both create its run storage, and two
    # runs on one index both merge the same ids (duplicates).
    try:
        with writer_lock(
            settings.data_dir, "sophia-pipeline run", settings.lock_timeout_s, on_wait=_say
        ):
            return _run_locked(args, settings)
    except WriterLockTimeout as exc:
        print(f"sophia-pipeline run: {exc}", file=sys.stderr)
        return 1


def _run_locked(args: argparse.Namespace, settings: Settings) -> int:
    from sophia_pipeline.cli import run_plan
    from sophia_pipeline.cli.status import collect_status
    from sophia_pipeline.processing.run_plan import plan_run
    from sophia_pipeline.settings import Profile

    found = landed_date_range(settings.landing_dir)
    if args.start is None and found is None:
        print(
            f"no landing files under {settings.landing_dir}: run `sophia-pipeline sample` first",
            file=sys.stderr,
        )
        return 2
    # Locally every source reads landing files, whose content can be fingerprinted; a
    # production source's API cannot say what changed without being read, so there every
    # run runs what it is asked.
    planned = settings.profile is Profile.LOCAL
    inputs: RunInputs | None = run_plan.current_inputs(settings) if planned else None
    last = run_plan.last_run(settings) if planned else None
    reason = "asked for"
    if args.start is not None and args.end is not None:  # both or neither: check_run_range
        start, end = args.start, args.end
    elif inputs is not None and not args.full and last is not None:
        before = collect_status(settings)
        plan = plan_run(inputs, run_plan.store_counts(before), last)
        if plan.start is None or plan.end is None:
            _say(f"{plan.reason}: no run launched (`sophia-pipeline run --full` runs anyway)")
            print(
                json.dumps(
                    {"run_id": None, "success": True, "launched": False, "reason": plan.reason}
                    | before,
                    indent=2,
                    default=str,
                )
            )
            return 0
        start, end, reason = plan.start, plan.end, plan.reason
    else:
        # --full, production, or no readable record of a successful run: every landed day.
        assert found is not None
        start, end = found
        reason = "--full" if args.full else "every landed day (no earlier run recorded)"
    return _launch(args, settings, start, end, reason, inputs, last)


def _launch(
    args: argparse.Namespace,
    settings: Settings,
    start: date,
    end: date,
    reason: str,
    inputs: RunInputs | None,
    last: RecordedRun | None,
) -> int:
    import dagster as dg

    from sophia_pipeline.cli import run_plan
    from sophia_pipeline.cli.status import collect_status
    from sophia_pipeline.definitions import FULL_RUN_JOB, build_definitions
    from sophia_pipeline.defs.run_liveness import (
        FULL_RUN_TAG,
        RunsInFlightTimeout,
        owner_tags,
        wait_for_runs_in_flight,
    )
    from sophia_pipeline.processing.run_plan import inputs_after_run

    # Dagster warns once per decorated asset that `backfill_policy` and component loading
    # are beta/preview: forty blocks of noise before every run, about APIs chosen on purpose.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    _dagster_home(settings)
    definitions = build_definitions(settings)  # the command's one settings object
    job = definitions.resolve_job_def(FULL_RUN_JOB)
    print(
        f"[sophia] profile={settings.profile.value} job {FULL_RUN_JOB}: "
        f"{len(list(definitions.assets or []))} asset(s) for {start}...{end} (one run: "
        f"{reason})",
        flush=True,
    )
    instance = dg.DagsterInstance.get()
    try:
        # Runs left started by a dead worker are failed first (nothing else would: the
        # default launcher has no health check); live ones (a sensor's batch) are awaited.
        wait_for_runs_in_flight(instance, settings.lock_timeout_s, _say)
    except RunsInFlightTimeout as exc:
        print(f"sophia-pipeline run: {exc}", file=sys.stderr)
        return 1
    # Written, not read (like DAGSTER_HOME above): one "planned" event per asset for the
    # run's whole range instead of one per asset per day (about 3,000 SQLite writes for
    # the 90-day demo, a third of a no-change re-run's time). Dagster's trade-off: a
    # failed run's days show as missing, not failed, in the UI; the run itself still
    # shows as failed, with the failing step.
    os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = "1"
    result = job.execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            FULL_RUN_TAG: "true",
            # This process is the run's worker: if it dies, the next waiter fails the run.
            **owner_tags(),
        },
        run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
        raise_on_error=False,
    )
    try:
        status = collect_status(settings)
    except Exception as exc:
        if result.success:
            raise
        # A failed run over stores that cannot be read (the cause, often): the run's
        # failure above says what happened; a traceback from the status would bury it.
        status = {"status_error": str(exc)}
    if result.success and inputs is not None:
        # Read before the run: a landing file changed while it ran differs from this
        # record, so the next run processes it.
        recorded = inputs_after_run(inputs, last, start, end)
        run_plan.record(settings, result.run_id, recorded, run_plan.store_counts(status))
    print(
        json.dumps(
            {"run_id": result.run_id, "success": result.success, "launched": True}
            | {"reason": reason}
            | status,
            indent=2,
            default=str,
        )
    )
    return 0 if result.success else 1


def cmd_status(args: argparse.Namespace) -> int:
    from sophia_pipeline.cli.status import collect_status, render_status

    status = collect_status(load_settings())
    if args.json:
        print(json.dumps(status, indent=2, default=str))
    else:
        print(render_status(status))
    return 0


_HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})


def _json_or_json_lines(raw: str) -> Any:
    """One JSON value (an object, a list, an API page), or JSON Lines as the landing
    files hold them (one record a line): a list of those records."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def chunk_file(
    kind: DocumentKind | str, path: str | Path, counter: TokenCounterLike
) -> list[dict[str, Any]]:
    """Chunks one file into JSON-able ``{"doc", "ordinal", "start", "end", "tokens",
    "text"}`` dicts, for the ``sophia-pipeline chunk`` command.

    ``doc`` is the file's path, except for CRM files, whose JSON (an object, a list, or a
    ``{"results": [...]}`` page) may hold several entities: each is a document of its own
    (``hubspot:deal:42``), rendered by its source's module with the relations the payload
    holds. Offsets point into the text that was chunked: the file itself, its
    HTML-stripped text (``.html``), its rendered transcript (conversation) or the
    entity's rendering (CRM).
    """
    from sophia_pipeline.documents import DocumentKind
    from sophia_pipeline.processing.chunking.base import Chunk
    from sophia_pipeline.processing.chunking.crm import chunk_crm_entity
    from sophia_pipeline.processing.chunking.dispatch import chunk_for_kind
    from sophia_pipeline.processing.chunking.document import chunk_document, html_to_text
    from sophia_pipeline.sources.crm_payloads import render_records

    k = DocumentKind(str(kind))
    p = Path(path)
    raw = p.read_text(encoding="utf-8", errors="replace")
    pairs: list[tuple[str, list[Chunk]]]
    if k is DocumentKind.CRM:
        pairs = [
            (doc_id, chunk_crm_entity(doc_id, text, counter))
            for doc_id, text in render_records(_json_or_json_lines(raw))
        ]
    elif k is DocumentKind.DOCUMENT and p.suffix.lower() in _HTML_SUFFIXES:
        pairs = [(str(p), chunk_document(str(p), html_to_text(raw), counter))]
    else:
        pairs = [(str(p), chunk_for_kind(k, str(p), raw, counter, path=str(p)))]
    return [
        {
            "doc": doc,
            "ordinal": c.ordinal,
            "start": c.start,
            "end": c.end,
            "tokens": c.tokens,
            "text": c.text,
        }
        for doc, chunks in pairs
        for c in chunks
    ]


def cmd_chunk(args: argparse.Namespace) -> int:
    from sophia_pipeline.processing.tokens import default_counter

    counter = default_counter()
    for path in args.paths:
        if not Path(path).is_file():
            print(f"not a file: {path}", file=sys.stderr)
            return 2
        try:
            rows = chunk_file(args.kind, path, counter)
        except json.JSONDecodeError as exc:  # --kind crm reads JSON or JSON Lines
            print(f"not JSON or JSON Lines: {path}: {exc}", file=sys.stderr)
            return 2
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    return 0


def cmd_webhooks(args: argparse.Namespace) -> int:
    from sophia_pipeline.webhooks import server

    argv = ["--host", args.host, "--port", str(args.port)]
    argv += ["--no-slack"] if args.no_slack else []
    argv += ["--no-github"] if args.no_github else []
    return server.main(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sophia-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write deterministic sample landing files for all sources")
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--reference-date",
        type=iso_date,
        help="YYYY-MM-DD; data covers the 90 days before it (default 2026-11-24, pinned)",
    )
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser(
        "run",
        help="materialize every asset for the days whose landing files, or the pipeline, "
        "changed since the last successful run (one run; none when nothing changed)",
    )
    p.add_argument(
        "--start", type=iso_date, help="first partition (YYYY-MM-DD); default: earliest landed day"
    )
    p.add_argument(
        "--end", type=iso_date, help="last partition, inclusive; default: latest landed day"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="run every landed day even if nothing changed since the last successful run",
    )
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("chunk", help="print the chunks files would give, as JSON lines")
    p.add_argument("--kind", required=True, choices=["conversation", "document", "code", "crm"])
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_chunk)

    p = sub.add_parser("webhooks", help="run the Slack/GitHub webhook receiver (uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="default loopback; put a proxy in front")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--no-slack", action="store_true", help="disable Slack (no secret needed)")
    p.add_argument("--no-github", action="store_true", help="disable GitHub (no secret needed)")
    p.set_defaults(func=cmd_webhooks)

    p = sub.add_parser(
        "status", help="row counts, vectors, dead letters, last run's embedding stats"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    from sophia_pipeline.cli.serving import add_parsers

    add_parsers(sub, iso_date)
    return parser


def check_run_range(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuses (exit 2) a half range, which would otherwise run every landed day, and a
    reversed one, which would otherwise "succeed" having done nothing."""
    if (args.start is None) != (args.end is None):
        parser.error("--start and --end go together (or give neither: every landed day)")
    if args.start is not None and args.start > args.end:
        parser.error(f"--start {args.start} is after --end {args.end}")


def environment_problem(exc: BaseException) -> str | None:
    """The message of a bad or incomplete environment behind ``exc``, else None.

    Dagster's defs loader wraps what a defs module raises, so the cause chain is walked.
    Both errors name the variables and never their values, so the message is safe to print.
    """
    from sophia_pipeline.defs.resources import MissingCredentialError

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, SettingsError | MissingCredentialError):
            return str(cause)
        seen.add(id(cause))
        cause = cause.__cause__
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args: Any = parser.parse_args(argv)
    if args.command == "run":
        check_run_range(parser, args)
    try:
        return int(args.func(args))
    except (ValidationError, InvalidRequest) as exc:
        # A value argparse let through but the read API refuses (a limit of 0, an
        # unknown source, a reversed range): a usage error like any other.
        message = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        parser.exit(2, f"{parser.prog}: error: {message}\n")
    except ServingError as exc:
        # Not found, or a dependency down: the message says which; no traceback.
        parser.exit(1, f"{parser.prog}: {exc}\n")
    except Exception as exc:
        problem = environment_problem(exc)
        if problem is None:
            raise
        # A configuration mistake, not a bug: one line and argparse's exit code, no traceback.
        parser.exit(2, f"{parser.prog}: error: {problem}\n")


if __name__ == "__main__":
    raise SystemExit(main())
