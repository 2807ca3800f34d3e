"""Bad arguments and a bad environment: one line naming the problem, exit code 2, no
traceback. The CLI runs in-process (``main([...])``): no subprocess, seconds in all."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia_pipeline.cli import main
from sophia_pipeline.defs.resources import PROD_REQUIRED


@pytest.fixture
def no_run(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local data dir whose definitions must never be built: a refused command stops
    before them (and, unfixed, a test fails at once instead of running the pipeline)."""
    import sophia_pipeline.definitions

    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))

    def refuse(*_: object, **__: object) -> object:
        raise AssertionError("the command should have been refused before running")

    monkeypatch.setattr(sophia_pipeline.definitions, "build_definitions", refuse)
    return data_dir


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """stderr of ``main(argv)``, which must exit 2 without a traceback."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def last_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert lines, "nothing on stderr"
    return lines[-1]


@pytest.mark.parametrize(
    "argv",
    [["run", "--start", "2026-09-01"], ["run", "--end", "2026-09-01"]],
    ids=["start-only", "end-only"],
)
def test_run_needs_both_ends_of_a_range(
    argv: list[str], no_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = last_line(refused(argv, capsys))
    assert "--start" in line and "--end" in line


def test_run_refuses_a_reversed_range(no_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = last_line(refused(["run", "--start", "2026-09-03", "--end", "2026-09-01"], capsys))
    assert "2026-09-03" in line and "2026-09-01" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--start", "2026-13-01", "--end", "2026-12-02"],
        ["run", "--start", "2026-09-01", "--end", "tomorrow"],
        ["sample", "--reference-date", "2026-02-30"],
    ],
    ids=["month-13", "word", "feb-30"],
)
def test_a_bad_date_is_refused_by_name(
    argv: list[str], no_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = next(a for a in argv if a in {"2026-13-01", "tomorrow", "2026-02-30"})
    line = last_line(refused(argv, capsys))
    assert bad in line and "YYYY-MM-DD" in line


@pytest.mark.parametrize(
    "command", [["status"], ["run", "--start", "2026-09-01", "--end", "2026-09-02"]]
)
def test_unknown_profile_is_one_line(
    command: list[str],
    no_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SOPHIA_PROFILE", "staging")
    err = refused(command, capsys)
    assert len(err.strip().splitlines()) == 1
    assert "SOPHIA_PROFILE" in err and "staging" in err


@pytest.mark.parametrize(
    "command", [["status"], ["run", "--start", "2026-09-01", "--end", "2026-09-02"]]
)
def test_missing_prod_variable_is_one_line_naming_it(
    command: list[str],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The real definitions here: in `run` the error comes wrapped by Dagster's loader.
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    monkeypatch.setenv("SOPHIA_PROFILE", "prod")
    for name in PROD_REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    monkeypatch.delenv("PINECONE_API_KEY")
    err = refused(command, capsys)
    assert len(err.strip().splitlines()) == 1
    assert "PINECONE_API_KEY" in err
    assert "value-of-" not in err  # no value of a set variable is echoed
