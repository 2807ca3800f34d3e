"""The image, without a Docker engine: the Dockerfile's build step (deploy/install.sh, run
on the files the Dockerfile copies) into a fresh virtualenv, then every server the image
runs started from that virtualenv, offline, from a folder with no source tree near it.

Each server of the image is one line of ``ENTRY_POINTS``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sophia_pipeline_tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
INSTALL = REPO / "deploy" / "install.sh"
HEALTHCHECK = REPO / "deploy" / "healthcheck.sh"

# A fresh install downloads and unpacks torch and ~300 packages: minutes, more on a busy
# machine (measured in bench/RESULTS.md, "Image install").
INSTALL_TIMEOUT_S = 3600


def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), one list per stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def build_copies() -> list[str]:
    """What the build stage copies from the context, in order."""
    return [
        src
        for line in _stages()[0]
        if line.startswith("COPY ") and "--from" not in line
        for src in line.split()[1:-1]
    ]


def runtime_cmd() -> list[str]:
    (cmd,) = [line for line in _stages()[-1] if line.startswith("CMD ")]
    return list(json.loads(cmd.removeprefix("CMD ")))


def test_the_dockerfile_builds_a_wheel_with_the_install_script_and_runs_non_root() -> None:
    build, runtime = _stages()[0], _stages()[-1]
    assert len(_stages()) >= 2  # multi-stage: the runtime holds the venv, not the tree
    assert any(line.startswith("RUN ") and "deploy/install.sh" in line for line in build), (
        "the build stage must install with deploy/install.sh (the script the test runs)"
    )
    assert "deploy/install.sh" in build_copies()
    assert not any(("pip install -e" in line or "--editable" in line) for line in build + runtime)
    assert any(line.startswith("COPY --from=build /opt/venv") for line in runtime)
    user = [line for line in runtime if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK ") for line in runtime)
    assert any("HF_HUB_OFFLINE=1" in line for line in runtime if line.startswith("ENV "))
    assert runtime_cmd()[:3] == ["dagster", "code-server", "start"]
    # The CPU wheels' index for torch; the pin matches the Makefile's.
    assert "download.pytorch.org/whl/cpu" in DOCKERFILE.read_text()
    assert '"torch==2.13.0"' in INSTALL.read_text()


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else() -> None:
    allowed = [
        line.removeprefix("!").rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert "*" in lines  # everything is out unless named
    copied = [src.rstrip("/") for src in build_copies()]
    copied += [
        line.split()[1]
        for line in _stages()[-1]
        if line.startswith("COPY ") and "--from" not in line
    ]
    assert sorted(allowed) == sorted(copied)


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/install.sh on a copy of exactly what the Dockerfile copies (the wheel is
    built from that copy, never from the working tree's build folders)."""
    root = tmp_path_factory.mktemp("image")
    src = root / "src"
    for item in build_copies():
        path = REPO / item
        target = src / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(path, target)
    venv = root / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    # The suite's own interpreter version (whatever `python3` on PATH may be); the venv
    # the script makes is based on it, not nested in the suite's venv.
    env["PYTHON"] = sys.executable
    started = time.monotonic()
    subprocess.run(
        ["sh", str(src / "deploy" / "install.sh"), str(src), str(venv)],
        check=True,
        env=env,
        timeout=INSTALL_TIMEOUT_S,
    )
    print(f"deploy/install.sh: {time.monotonic() - started:.0f} s")  # for bench/RESULTS.md
    return venv


def _http_ok(path: str) -> Callable[[Path, int], bool]:
    def ready(venv: Path, port: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    return ready


# Asked with the venv's own client: a code server whose definitions failed to load still
# answers pings, but lists an error instead of the repository.
_LIST_REPOSITORIES = """
import json, sys
from dagster._grpc.client import DagsterGrpcClient
reply = DagsterGrpcClient(port=int(sys.argv[1]), host="127.0.0.1").list_repositories()
print(json.loads(reply)["__class__"])
"""


def _code_location_loaded(venv: Path, port: int) -> bool:
    reply = subprocess.run(
        [str(venv / "bin" / "python"), "-c", _LIST_REPOSITORIES, str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if reply.returncode != 0:
        return False  # not up yet
    assert reply.stdout.strip() == "ListRepositoriesResponse", reply.stdout
    return True


@dataclass(frozen=True)
class EntryPoint:
    name: str
    argv: list[str]  # "{port}" is replaced; the first word is a command of the venv
    ready: Callable[[Path, int], bool]
    env: dict[str, str] = field(default_factory=dict)


def _code_server_argv() -> list[str]:
    """The image's own CMD, with a free loopback port instead of 0.0.0.0:4000."""
    argv = runtime_cmd()
    argv[argv.index("-h") + 1] = "127.0.0.1"
    argv[argv.index("-p") + 1] = "{port}"
    return argv


ENTRY_POINTS = [
    EntryPoint("code server", _code_server_argv(), _code_location_loaded),
    EntryPoint(
        "webhook receiver",
        ["sophia-pipeline", "webhooks", "--host", "127.0.0.1", "--port", "{port}"],
        _http_ok("/health"),
        env={"SLACK_SIGNING_SECRET": "test-slack", "GITHUB_WEBHOOK_SECRET": "test-github"},
    ),
    EntryPoint(
        "serving API",
        ["sophia-pipeline", "serve", "--host", "127.0.0.1", "--port", "{port}"],
        _http_ok("/health"),
    ),
]


@contextmanager
def _started(venv: Path, entry: EntryPoint, workdir: Path) -> Iterator[int]:
    """Start ``entry`` from ``venv`` in ``workdir``; yield its port once it answers."""
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in entry.argv]
    argv[0] = str(venv / "bin" / argv[0])
    env = {
        # Only the venv and the system: no PYTHONPATH, no source tree, no network for the
        # model, fresh data and instance folders.
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(workdir),
        "HF_HUB_OFFLINE": "1",
        "SOPHIA_DATA_DIR": str(workdir / "data"),
        "DAGSTER_HOME": str(workdir / "dagster_home"),
        **entry.env,
    }
    (workdir / "dagster_home").mkdir(parents=True, exist_ok=True)
    log = (workdir / "server.log").open("wb")
    # Its own process group: the code server runs the definitions in a child process,
    # which must go too.
    proc = subprocess.Popen(
        argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300  # loading torch and the definitions, machine busy
        while not entry.ready(venv, port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{entry.name} did not answer (exit {proc.poll()}):\n"
                    + (workdir / "server.log").read_text()[-4000:]
                )
            time.sleep(0.5)
        yield port
    finally:
        # `dagster code-server start` outlives SIGTERM for a long while (seen here: over
        # 20 s); a bounded wait, then SIGKILL to the group.
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT_S + 600)
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.name)
def test_each_server_of_the_image_starts_from_the_wheel_offline(
    image_venv: Path, entry: EntryPoint, tmp_path: Path
) -> None:
    python = image_venv / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import sophia_pipeline; print(sophia_pipeline.__file__)"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(image_venv), where  # the wheel, not the tree
    with _started(image_venv, entry, tmp_path) as port:
        # The image's HEALTHCHECK script sees the same server healthy.
        assert _healthcheck(image_venv / "bin", port, port).returncode == 0


def _healthcheck(bin_dir: Path, grpc_port: int, http_port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(HEALTHCHECK), str(grpc_port), str(http_port)],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        timeout=120,
    )


@pytest.mark.slow  # two CLI starts (dagster imports in seconds)
def test_the_healthcheck_fails_when_no_server_answers() -> None:
    # The project's own venv has the same commands (dagster, python) as the image's.
    bin_dir = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"
    assert _healthcheck(bin_dir, free_port(), free_port()).returncode != 0
