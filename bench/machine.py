"""What every bench figure is recorded with: date, machine, commit, versions, load."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "sentence-transformers", "dagster", "lancedb", "llama-index-core")
FLAG_PREFIXES = ("avx2", "avx512", "amx")


def cpu_info() -> dict[str, Any]:
    model, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu": model,
        "flags": sorted(f for f in flags if f.startswith(FLAG_PREFIXES)),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
    }


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True)
        return rev + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def header() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **cpu_info(),
        "commit": commit(),
        "versions": versions(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def interleaved(
    variants: dict[str, Callable[[], object]], rounds: int
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Runs each variant once per round, in turn (A, B, C, A, B, C, ...), so drift on a
    shared machine hits all of them; returns the median seconds of each and every round."""
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}, times
