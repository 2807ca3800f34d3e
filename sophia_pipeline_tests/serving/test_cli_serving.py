"""The read API's terminal commands on the materialized sample: tables by default,
``--json`` for scripts, one line and exit 2 for bad arguments, exit 1 for what is not
there. In-process (``main([...])``)."""

from __future__ import annotations

import json

import pytest

from sophia_pipeline.cli import main
from sophia_pipeline_tests.serving.demo import Demo

pytestmark = pytest.mark.slow


@pytest.fixture
def env(demo: Demo, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Demo:
    monkeypatch.setenv("SOPHIA_DATA_DIR", str(demo.settings.data_dir))
    monkeypatch.setenv("SOPHIA_PROFILE", "local")
    monkeypatch.setenv("REDIS_URL", redis_url)
    return demo


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_mentions_table_and_json_agree_with_the_warehouse(
    env: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["mentions", "--source", "gong", "--limit", "5", "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    ids = [m["mention_id"] for m in payload["mentions"]]
    want = env.warehouse.query(
        "SELECT mention_id FROM competitive_intelligence.competitor_mentions "
        "WHERE source = 'gong' ORDER BY mentioned_at DESC, mention_id LIMIT 5"
    )
    assert ids == list(want["mention_id"])
    code, out, _ = run(["mentions", "--source", "gong", "--limit", "5"], capsys)
    assert code == 0
    assert out.splitlines()[0].split() == [
        "competitor", "mentions", "max_threat", "avg_threat", "last_mentioned_at"
    ]  # fmt: skip
    assert payload["mentions"][0]["competitor"] in out


def test_dead_letters_list_and_show(env: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["dead-letters", "list"], capsys)
    count = int(env.warehouse.count("ops.dead_letters"))
    assert code == 0
    assert (out.strip() == "(none)") == (count == 0)
    code, out, _ = run(["dead-letters", "list", "--json"], capsys)
    assert code == 0 and len(json.loads(out)) == min(count, 50)
    code, _, err = run(["dead-letters", "show", "no-such-letter"], capsys)
    assert code == 1
    assert err.strip().splitlines() == [err.strip()] and "no-such-letter" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["search", "pricing", "--limit", "0"], "limit"),
        (["search", "pricing", "--source", "nope"], "sources"),
        (["search", "pricing", "--mode", "fuzzy"], "--mode"),
        (["mentions", "--limit", "0"], "limit"),
        (["mentions", "--source", "nope"], "sources"),
        (["mentions", "--start", "2026-10-02", "--end", "2026-10-01"], "after"),
        (["mentions", "--start", "yesterday"], "yesterday"),
        (["dead-letters", "list", "--source", "nope"], "nope"),
        (["dead-letters"], "action"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    env: Demo, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "Traceback" not in err
    assert says in err.strip().splitlines()[-1]
