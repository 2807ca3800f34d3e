"""The commands a user copies from the README, run as a user would run them."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sophia_pipeline_tests.factories import small_gong_landing

# Each test runs the CLI in a subprocess (the README's backfill one: minutes).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_backfill_line() -> str:
    for line in (REPO / "README.md").read_text().splitlines():
        if line.strip().startswith("dagster asset materialize") and "--partition-range" in line:
            return line.strip()
    raise AssertionError("README has no `dagster asset materialize ... --partition-range` line")


def env_for(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SOPHIA_DATA_DIR=str(data_dir),
        SOPHIA_PROFILE="local",
        PATH=f"{BIN}:{env.get('PATH', '')}",
        HF_HUB_OFFLINE="1",
    )
    env.pop("DAGSTER_HOME", None)
    return env


def test_readme_backfill_command_materializes_the_range(tmp_path: Path) -> None:
    data = tmp_path / "sophia"
    small_gong_landing(data / "landing", date(2026, 9, 1), days=3, per_day=1)
    line = readme_backfill_line()
    # The README's line with this test's dates: the rest of it is exactly what users copy.
    args = shlex.split(line)
    rng = args.index("--partition-range")
    args[rng + 1] = "2026-09-01...2026-09-02"
    done = subprocess.run(
        args, cwd=tmp_path, env=env_for(data), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = subprocess.run(
        ["sophia-pipeline", "status", "--json"],
        env=env_for(data),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status = json.loads(out.stdout)
    assert status["tables"]["raw.gong_calls"] == 2  # the third day is outside the range
    assert status["tables"]["gong_intelligence.call_transcripts"] == 2
    assert status["vectors"] == status["tables"]["staging.chunks"] > 0


def test_run_without_landing_data_says_what_to_do(tmp_path: Path) -> None:
    out = subprocess.run(
        ["sophia-pipeline", "run"],
        env=env_for(tmp_path / "empty"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "sophia-pipeline sample" in out.stderr


def test_chunk_command_prints_json_lines(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("# Install\n\nRun it.\n\n## Linux\n\n" + "Use apt to install it. " * 200)
    out = subprocess.run(
        ["sophia-pipeline", "chunk", "--kind", "document", str(doc)],
        env=env_for(tmp_path),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(rows) > 2
    assert {"doc", "ordinal", "start", "end", "tokens", "text"} <= set(rows[0])
    assert all(r["tokens"] <= 256 for r in rows)
    assert rows[-1]["text"].startswith("Install > Linux: ")
    assert rows[-1]["end"] == len(doc.read_text())
