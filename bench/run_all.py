"""The bench suite: every figure of bench/RESULTS.md's issue-14 sections from one command.

    make bench                 # full (sized for under 30 minutes on an unloaded 2-core machine)
    make bench ARGS=--quick    # the same figures on less data, scale 1 only

Each part runs in its own subprocess (a clean process: model caches and allocator state
do not leak between parts) and prints one JSON object; this script collects them into
``bench/out/run_all-<UTC time>.json`` and prints a summary. Every part records date,
machine, commit, versions and the load average beside its figures.

Parts: (1) embed stage and precision paths, natively and with torch and oneDNN held to
AVX2 (the AVX2-only machines' case); (2) chunk + embed + index against LlamaIndex and
(3) re-runs through the embedding cache; (4) the whole job at sample scales 1, 4, 16
with (5) its orchestration overhead and its re-runs; (6) serving: search latency over
100,000 vectors and KPI reads, cache miss against hit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def part(name: str, args: list[str], extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(extra_env or {})}
    cmd = [sys.executable, str(BENCH / args[0]), *args[1:]]
    shown = " ".join(f"{k}={v}" for k, v in (extra_env or {}).items())
    command = f"{shown} .venv/bin/python bench/{' '.join(args)}".strip()
    print(f"[bench] {name}: {command}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = round(time.perf_counter() - start, 1)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return {"command": command, "wall_s": wall, "error": proc.stderr[-1500:]}
    out = proc.stdout
    return {"command": command, "wall_s": wall, **json.loads(out[out.index("{") :])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", help="part names to run (default: all)")
    args = ap.parse_args()
    quick = args.quick
    # --quick: the same parts on less data, one round each (a smoke run of the suite, not
    # figures to quote), and of the job's re-runs only the no-change one.
    texts, rounds = ("48", "1") if quick else ("300", "5")
    plan: list[tuple[str, list[str], dict[str, str] | None]] = [
        ("embed_native", ["precision_paths.py", "--texts", texts, "--rounds", rounds], None),
        # Half the texts held to AVX2: emulated bf16 runs at a seventh of fp32's speed there.
        (
            "embed_avx2",
            ["precision_paths.py", "--texts", texts if quick else "150", "--rounds", rounds],
            AVX2_ENV,
        ),
        (
            "ingest",
            [
                "ingest_compare.py",
                "--readmes",
                "4" if quick else "60",
                "--stdlib",
                "1" if quick else "20",
                "--rounds",
                "1" if quick else "3",
            ],
            None,
        ),
        (
            "job",
            [
                "job_scale.py",
                "--scales",
                *(["1", "--rerun", "--no-change-only"] if quick else ["1", "4", "16", "--rerun"]),
            ],
            None,
        ),
    ]
    if (BENCH / "search_latency.py").exists():
        sized = ["--rows", "20000", "--queries", "50"] if quick else []
        plan.append(("serving", ["search_latency.py", *sized], None))
    results: dict[str, Any] = {"quick": quick}
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"run_all-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    start = time.perf_counter()
    for name, cmd, env in plan:
        if args.only and name not in args.only:
            continue
        results[name] = part(name, cmd, env)
        # Written after every part: a suite stopped half-way keeps what it measured.
        path.write_text(json.dumps(results, indent=2))
        if name == "job" and "data_root" in results[name]:
            # KPI reads, cache miss against hit, on the data the job just filled.
            scale = (["1"] if quick else ["1", "4", "16"])[0]
            data = str(Path(results[name]["data_root"]) / f"scale{scale}")
            results["kpi_cache"] = part("kpi_cache", ["kpi_cache.py"], {"SOPHIA_DATA_DIR": data})
            path.write_text(json.dumps(results, indent=2))
    if "serving" not in results and not args.only:
        results["serving"] = {
            "note": "serving latency comes with the serving work (bench/search_latency.py)"
        }
    results["suite_wall_s"] = round(time.perf_counter() - start, 1)
    path.write_text(json.dumps(results, indent=2))
    print(summary(results))
    print(f"\nfull figures: {path.relative_to(ROOT)}")


def summary(r: dict[str, Any]) -> str:
    lines = [f"suite wall: {r['suite_wall_s']} s ({'quick' if r['quick'] else 'full'})"]
    for key in ("embed_native", "embed_avx2"):
        e = r.get(key)
        if not e or "variants" not in e:
            continue
        v = e["variants"]
        lines.append(
            f"{key} [{e['torch_cpu_capability']}, auto={e['auto_precision']}, "
            f"load {e['load_average']}]: pipeline/bare same precision "
            f"{e['pipeline_over_bare_same_precision']}x; vs fp32 encode: "
            + ", ".join(
                f"{k} {x['speed_vs_fp32_encode']}x (cos {x['mean_cosine_vs_fp32']}, "
                f"nn10 {x['nn10_agreement']})"
                for k, x in v.items()
                if k != "bare_fp32_encode"
            )
        )
    ing = r.get("ingest")
    if ing and "chunk_embed_index" in ing:
        c = ing["chunk_embed_index"]
        lines.append(
            f"ingest: ours/LlamaIndex {c['throughput_ratio_ours_over_llama_index']}x "
            f"(sized 256: {c['throughput_ratio_ours_over_llama_index_256']}x), counts {c['counts']}"
        )
        rr = ing["reruns"]
        lines.append(
            f"reruns: no change embedded {rr['no_change']['texts_embedded']} "
            f"({rr['no_change']['fraction_of_first']} of first), 1% changed embedded "
            f"{rr['one_percent_changed']['share_of_texts_embedded']:.2%}"
        )
    job = r.get("job")
    if job and "scales" in job:
        for scale, e in job["scales"].items():
            f = e["first_run"]
            lines.append(
                f"job x{scale}: {f['process_wall_s']} s, peak RSS {f['peak_rss_tree_mib']} MiB "
                f"({e['peak_rss_vs_first_scale']}x), run wall / step compute "
                f"{f['wall_over_step_compute']}"
            )
            for label, key in (
                ("no-change re-run", "no_change_rerun"),
                ("--full re-run, nothing new", "full_rerun_no_change"),
                ("one record landed", "one_record_landed"),
            ):
                if key not in e:
                    continue
                n = e[key]
                ran = (
                    f"run wall / step compute {n.get('wall_over_step_compute')}, "
                    f"texts embedded {n.get('texts_embedded')}"
                    if n.get("launched")
                    else f"no run launched ({n.get('reason')})"
                )
                fraction = n.get("fraction_of_first")
                lines.append(
                    f"job x{scale} {label}: {n['process_wall_s']} s"
                    + (f" ({fraction} of first)" if fraction is not None else "")
                    + f", {ran}"
                )
    kpi = r.get("kpi_cache")
    if kpi and "hit_cache" in kpi:
        lines.append(
            f"KPI reads ({kpi['cache_backend']}): miss p50 {kpi['miss_warehouse_read']['p50_ms']} "
            f"ms, hit p50 {kpi['hit_cache']['p50_ms']} ms / p99 {kpi['hit_cache']['p99_ms']} ms"
        )
    for key in ("ingest", "job", "kpi_cache", "serving"):
        if key in r and "error" in r[key]:
            lines.append(f"{key}: FAILED (see the JSON)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
