"""The whole job at several sample scales: wall time, peak resident memory of the process
tree, orchestration overhead, and a no-change re-run.

    .venv/bin/python bench/job_scale.py [--scales 1 4 16] [--rerun]

For each scale: a fresh data folder, ``sophia-pipeline sample --scale N``, then
``sophia-pipeline run`` in a subprocess whose process tree is sampled every 0.2 s from
/proc (peak of the tree's summed RSS, and of its largest process). From the run's Dagster
event log: the run's wall (RUN_START to RUN_SUCCESS/FAILURE), each step's compute
(STEP_START to STEP_SUCCESS/FAILURE) and their sum; the overhead is the run's wall over
that sum. Texts embedded are the embeddings assets' ``texts_embedded`` metadata.
``--rerun`` then runs the first scale's job again three ways: with nothing changed (the
command finds nothing to do and launches no run), with ``--full`` (every asset over every
day, nothing new: every step runs and embeds nothing), and after one new record lands on
the last day (a run over that day).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import header  # noqa: E402


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(x) for x in text)
    except OSError:
        pass
    return out


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreePeak(threading.Thread):
    """Samples the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_tree_kib = 0
        self.peak_one_kib = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            pids, todo = [], [self.pid]
            while todo:
                p = todo.pop()
                pids.append(p)
                todo.extend(_children(p))
            sizes = [_rss_kib(p) for p in pids]
            self.peak_tree_kib = max(self.peak_tree_kib, sum(sizes))
            self.peak_one_kib = max(self.peak_one_kib, max(sizes, default=0))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def cli(args: list[str], env: dict[str, str]) -> tuple[str, float, TreePeak]:
    code = f"import sys; from sophia_pipeline.cli import main; sys.exit(main({args!r}))"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = TreePeak(proc.pid)
    peak.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    peak.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{args} exited {proc.returncode}: {err[-2000:]}")
    return out, wall, peak


def run_events(dagster_home: str, run_id: str) -> dict[str, Any]:
    """Wall and step compute of one run, from its event log."""
    os.environ["DAGSTER_HOME"] = dagster_home
    import dagster as dg

    instance = dg.DagsterInstance.get()
    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    run_start = run_end = None
    embedded = 0
    kinds = dg.DagsterEventType
    for record in instance.all_logs(run_id):
        ev = record.dagster_event
        if ev is None:
            continue
        # Compare enum members: the run events' stored names are the legacy PIPELINE_*.
        kind = ev.event_type
        if kind == kinds.RUN_START:
            run_start = record.timestamp
        elif kind in (kinds.RUN_SUCCESS, kinds.RUN_FAILURE):
            run_end = record.timestamp
        elif kind == kinds.STEP_START and ev.step_key:
            starts[ev.step_key] = record.timestamp
        elif kind in (kinds.STEP_SUCCESS, kinds.STEP_FAILURE) and ev.step_key in starts:
            steps[ev.step_key] = record.timestamp - starts[ev.step_key]
        elif kind == kinds.ASSET_MATERIALIZATION:
            meta = ev.event_specific_data.materialization.metadata  # type: ignore[union-attr]
            value = meta.get("texts_embedded")
            if value is not None:
                embedded += int(getattr(value, "value", value))
    compute = sum(steps.values())
    wall = (run_end - run_start) if run_start and run_end else None
    slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:5]
    instance.dispose()
    return {
        "run_wall_s": round(wall, 1) if wall else None,
        "steps": len(steps),
        "sum_step_compute_s": round(compute, 1),
        "wall_over_step_compute": round(wall / compute, 2) if wall and compute else None,
        "process_wall_over_step_compute": None,  # filled by one_job
        "slowest_steps_s": {k: round(v, 1) for k, v in slowest},
        "texts_embedded": embedded,
    }


def one_job(data_dir: Path, env: dict[str, str], *flags: str) -> dict[str, Any]:
    out, wall, peak = cli(["run", "--log-level", "WARNING", *flags], env)
    measured = {
        "process_wall_s": round(wall, 1),
        "peak_rss_tree_mib": round(peak.peak_tree_kib / 1024),
        "peak_rss_largest_process_mib": round(peak.peak_one_kib / 1024),
    }
    if '"launched": false' in out:
        reason = re.search(r'"reason":\s*"([^"]*)"', out)
        return {**measured, "launched": False, "reason": reason.group(1) if reason else None}
    match = re.search(r'"run_id":\s*"([0-9a-f-]+)"', out)
    if not match:
        raise RuntimeError(f"no run id in the run's output: {out[-1000:]}")
    events = run_events(env["DAGSTER_HOME"], match.group(1))
    compute = events["sum_step_compute_s"]
    events["process_wall_over_step_compute"] = round(wall / compute, 2) if compute else None
    return {**measured, "launched": True, **events}


def land_one_record(landing: Path) -> str:
    """Appends a copy of the last day's first Linear issue under a new id (a new record
    on one day of one source); returns the file."""
    path = sorted((landing / "linear" / "issues").glob("*.jsonl"))[-1]
    issue = json.loads(path.read_text().splitlines()[0])
    issue |= {"id": "0f1e2d3c-0000-4000-8000-00000000b001", "identifier": "DATA-9901"}
    issue |= {"title": "A record landed after the first run", "number": 9901}
    with path.open("a") as f:
        f.write(json.dumps(issue) + "\n")
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--rerun", action="store_true", help="re-run the first scale, unchanged")
    ap.add_argument(
        "--no-change-only",
        action="store_true",
        help="with --rerun: only the no-change re-run (no `--full`, no landed record)",
    )
    args = ap.parse_args()
    results: dict[str, Any] = {"scales": {}}
    root = Path(tempfile.mkdtemp(prefix="job-scale-"))
    for i, scale in enumerate(args.scales):
        data = root / f"scale{scale}"
        env = {
            **os.environ,
            "SOPHIA_DATA_DIR": str(data),
            "DAGSTER_HOME": str(data / "dagster_home"),
            "HF_HUB_OFFLINE": "1",
        }
        Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        cfg = Path(__file__).resolve().parent.parent / "dagster.yaml"
        if cfg.exists():
            (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(cfg.read_text())
        sample_out, _, _ = cli(["sample", "--scale", str(scale)], env)
        written = json.loads(sample_out[sample_out.index("{") :]).get("written")
        first = one_job(data, env)
        entry: dict[str, Any] = {"sample_written": written, "first_run": first}
        if args.rerun and i == 0:
            reruns: list[tuple[str, tuple[str, ...]]] = [("no_change_rerun", ())]
            if not args.no_change_only:
                reruns.append(("full_rerun_no_change", ("--full",)))
            for name, flags in reruns:
                again = one_job(data, env, *flags)
                again["fraction_of_first"] = round(
                    again["process_wall_s"] / first["process_wall_s"], 3
                )
                entry[name] = again
            if not args.no_change_only:
                changed = land_one_record(data / "landing")
                again = one_job(data, env)
                entry["one_record_landed"] = {"file": changed, **again}
        results["scales"][str(scale)] = entry
        print(json.dumps({"scale": scale, **entry}), file=sys.stderr, flush=True)
    base = results["scales"][str(args.scales[0])]["first_run"]["peak_rss_tree_mib"]
    for scale, entry in results["scales"].items():
        entry["peak_rss_vs_first_scale"] = round(entry["first_run"]["peak_rss_tree_mib"] / base, 2)
        del scale
    print(json.dumps({**header(), "data_root": str(root), **results}, indent=2))


if __name__ == "__main__":
    main()
