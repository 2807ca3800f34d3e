"""Bad input in landing files: every bad line or row is a dead letter naming its file
and line, and never stops the good ones of the same file from loading."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sophia_pipeline.defs.jobs import reparse
from sophia_pipeline.sources import costar
from sophia_pipeline.sources.landing import Accepted, Rejected, parse_csv, parse_jsonl
from sophia_pipeline.sources.registry import SPECS

DEEP = "[" * 10_000 + "]" * 10_000
HEADER = ",".join(costar.COLUMNS)


class Rec(BaseModel):
    id: str
    text: str = ""


def good(i: int, text: str = "fine") -> bytes:
    return json.dumps({"id": f"good-{i}", "text": text}).encode() + b"\n"


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def costar_row(pid: str, *extra: str) -> str:
    fields = [pid, "1 Main St", "Austin", "TX", "office", "1000", "30.5", "0.1", "", "", "n"]
    return ",".join([*fields, "2025-01-10T00:00:00Z", *extra])


def accepted_ids(accepted: list[Accepted[Any]]) -> list[str]:
    return [a.record.id if hasattr(a.record, "id") else a.record.property_id for a in accepted]


def assert_storable(rejected: list[Rejected]) -> None:
    """What the dead-letter table stores: UTF-8 text, and a stable id."""
    for r in rejected:
        r.raw.encode("utf-8")
        r.error.encode("utf-8")
        assert len(r.dead_letter_id) == 32


# ---------------------------------------------------------------- CSV


def test_costar_row_with_an_extra_column_is_dead_lettered_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    path = tmp_path / "costar_2025-01-10.csv"
    rows = [HEADER, costar_row("p1"), costar_row("p2", "surplus"), costar_row("p3")]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    accepted, rejected = parse_csv(
        path, costar.CoStarProperty.model_validate, list(costar.COLUMNS), costar.ENTITY
    )

    assert accepted_ids(accepted) == ["p1", "p3"]
    (bad,) = rejected
    assert (bad.source_file, bad.line_no) == (str(path), 2)
    assert bad.error == "wrong number of fields: 13, expected 12"
    assert "surplus" in bad.raw and "p2" in bad.raw
    assert_storable(rejected)


def test_costar_row_with_invalid_utf8_is_dead_lettered_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "costar_2025-01-10.csv"
    lines = [HEADER, costar_row("p\xff"), costar_row("p\xfe"), costar_row("p3")]
    # Latin-1 writes \xff and \xfe as the single bytes, which are never valid UTF-8.
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))

    accepted, rejected = parse_csv(
        path, costar.CoStarProperty.model_validate, list(costar.COLUMNS), costar.ENTITY
    )

    assert accepted_ids(accepted) == ["p3"]
    assert [(r.line_no, r.error) for r in rejected] == [
        (1, "invalid UTF-8: invalid start byte at byte 2 in column property_id"),
        (2, "invalid UTF-8: invalid start byte at byte 2 in column property_id"),
    ]
    assert ["\\xff" in rejected[0].raw, "\\xfe" in rejected[1].raw] == [True, True]
    assert rejected[0].dead_letter_id != rejected[1].dead_letter_id
    assert_storable(rejected)


# ---------------------------------------------------------------- JSON Lines


def test_jsonl_nested_too_deep_is_dead_lettered_and_the_rest_loads(tmp_path: Path) -> None:
    path = write(tmp_path / "2025-01-10.jsonl", [good(1), DEEP.encode() + b"\n", good(2)])

    accepted, rejected = parse_jsonl(path, Rec)

    assert accepted_ids(accepted) == ["good-1", "good-2"]
    (bad,) = rejected
    assert (bad.source_file, bad.line_no) == (str(path), 2)
    assert bad.error == "invalid JSON: nested too deeply"
    assert_storable(rejected)


def test_jsonl_lone_surrogate_is_dead_lettered_and_the_rest_loads(tmp_path: Path) -> None:
    # Valid JSON: an emoji cut at a UTF-16 boundary leaves half a surrogate pair.
    cut = b'{"id": "cut", "text": "launch \\ud83d"}\n'
    path = write(tmp_path / "2025-01-10.jsonl", [good(1), cut, good(2)])

    accepted, rejected = parse_jsonl(path, Rec)

    assert accepted_ids(accepted) == ["good-1", "good-2"]
    (bad,) = rejected
    assert (bad.source_file, bad.line_no) == (str(path), 2)
    assert bad.error.startswith("invalid text: unpaired surrogate '\\ud83d'")
    assert bad.raw == cut.decode().strip()  # the line as landed, replayable
    assert_storable(rejected)


def test_jsonl_invalid_utf8_is_dead_lettered_not_rewritten(tmp_path: Path) -> None:
    # Two ids that differ only by an invalid byte: replacing it would merge them.
    lines = [good(1), b'{"id": "a\xff", "text": "x"}\n', b'{"id": "a\xfe", "text": "x"}\n']
    path = write(tmp_path / "2025-01-10.jsonl", lines)

    accepted, rejected = parse_jsonl(path, Rec)

    assert accepted_ids(accepted) == ["good-1"]
    assert [(r.source_file, r.line_no, r.error) for r in rejected] == [
        (str(path), 2, "invalid UTF-8: invalid start byte at byte 10"),
        (str(path), 3, "invalid UTF-8: invalid start byte at byte 10"),
    ]
    assert [r.raw for r in rejected] == [
        '{"id": "a\\xff", "text": "x"}',
        '{"id": "a\\xfe", "text": "x"}',
    ]
    assert rejected[0].dead_letter_id != rejected[1].dead_letter_id
    assert_storable(rejected)


def test_a_real_source_reads_the_good_lines_around_bad_ones(tmp_path: Path) -> None:
    """Through the spec the raw asset uses (Slack landing files)."""
    spec = SPECS["slack"]
    folder = tmp_path / "slack" / spec.folders["message"]
    folder.mkdir(parents=True)
    envelope = {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "Ev1",
        "event_time": 1736500000,
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": "hi",
                  "ts": "1736500000.000200"},
    }  # fmt: skip
    ok = json.dumps(envelope).encode()
    cut = ok.replace(b'"hi"', b'"hi \\ud83d"').replace(b"Ev1", b"Ev2")
    write(folder / "2025-01-10.jsonl", [ok + b"\n", DEEP.encode() + b"\n", cut + b"\n"])

    accepted, rejected, files = spec.read_landing(tmp_path, date(2025, 1, 10), date(2025, 1, 11))

    assert (len(accepted), files) == (1, 1)
    assert [r.line_no for r in rejected] == [2, 3]
    assert rejected[0].error == "invalid JSON: nested too deeply"
    assert rejected[1].error.startswith("invalid text: unpaired surrogate")
    assert_storable(rejected)


def test_replaying_a_too_deep_dead_letter_keeps_it_failing() -> None:
    row = {"source_file": "landing/gong/calls/2025-01-10.jsonl", "line_no": 2, "payload": DEEP}
    result = reparse(SPECS["gong"], row)
    assert isinstance(result, Rejected) and result.error == "invalid JSON: nested too deeply"


# ---------------------------------------------------------------- property


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except (ValueError, RecursionError):
        return False


# Lines with no line break in them (text mode splits on \r as on \n), not blank.
arbitrary = (
    st.binary(min_size=1, max_size=200)
    .map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" "))
    .filter(lambda b: b.decode("utf-8", "surrogateescape").strip() != "")
    .filter(lambda b: not _is_object(b))
)
bad_objects = st.sampled_from(
    [
        b'{"text": "no id"}',
        b'{"id": 7}',
        b'{"id": "a\xff"}',
        b'{"id": "cut \\udc00"}',
        b'{"id": "x", "text": "\\ud83d"}',
        b'["an", "array"]',
        DEEP.encode(),
        b'{"id": "x",',
    ]
)
line_kinds = st.lists(
    st.one_of(
        st.tuples(st.just("good"), st.text(max_size=50)),
        st.tuples(st.just("bad"), arbitrary | bad_objects),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line_kinds)
def test_jsonl_parser_never_raises_and_accounts_for_every_line(
    kinds: list[tuple[str, Any]],
) -> None:
    lines: list[bytes] = []
    want_good: list[tuple[str, int]] = []
    want_bad: list[int] = []
    for n, (kind, value) in enumerate(kinds, start=1):
        if kind == "good":
            # Emoji and other text, surrogates left out: those are bad by design.
            text = "".join(c for c in value if not "\ud800" <= c <= "\udfff")
            lines.append(good(n, text))
            want_good.append((f"good-{n}", n))
        else:
            lines.append(value + b"\n")
            want_bad.append(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "2025-01-10.jsonl", lines)
        accepted, rejected = parse_jsonl(path, Rec)
    assert [(a.record.id, a.line_no) for a in accepted] == want_good
    assert [r.line_no for r in rejected] == want_bad
    assert all(r.source_file == str(path) and r.error for r in rejected)
    assert_storable(rejected)
