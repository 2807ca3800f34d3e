"""``sophia-pipeline chunk``'s file handling: every kind, CRM payloads rendered by their
sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sophia_pipeline.cli import chunk_file
from sophia_pipeline.documents import DocumentKind
from sophia_pipeline.processing.chunking.base import TokenCounterLike
from sophia_pipeline.processing.tokens import default_counter
from sophia_pipeline_tests.sources.test_crm_rendering import COMPANY, CONTACT, DEAL


@pytest.fixture(scope="module")
def counter() -> TokenCounterLike:
    return default_counter()


def test_chunk_file_for_every_kind(tmp_path: Path, counter: TokenCounterLike) -> None:
    crm = tmp_path / "crm.json"
    crm.write_text(json.dumps([DEAL, COMPANY, CONTACT]), encoding="utf-8")
    rows = chunk_file("crm", crm, counter)
    assert [r["doc"] for r in rows] == ["hubspot:deal:42", "hubspot:company:7", "hubspot:contact:9"]
    assert set(rows[0]) == {"doc", "ordinal", "start", "end", "tokens", "text"}
    json.dumps(rows)

    call = tmp_path / "call.txt"
    call.write_text(
        "Alice: Hi there.\nBob: Hello! We use Gong.\n\nAlice: Great.\n", encoding="utf-8"
    )
    rows = chunk_file(DocumentKind.CONVERSATION, call, counter)
    # One window of whole turns, each line with its speaker (a bare file has no header).
    assert [r["text"] for r in rows] == [
        "Alice: Hi there.\nBob: Hello! We use Gong.\nAlice: Great."
    ]
    assert {r["doc"] for r in rows} == {str(call)}

    page = tmp_path / "page.html"
    page.write_text("<h1>Pricing</h1><p>Call us.</p>", encoding="utf-8")
    assert [r["text"] for r in chunk_file("document", page, counter)] == ["Pricing: Call us."]

    src = tmp_path / "m.py"
    src.write_text("import os\n\n\ndef f():\n    return 1\n", encoding="utf-8")
    assert [r["text"] for r in chunk_file("code", src, counter)] == [
        "import os",
        "def f():\n    return 1",
    ]
    with pytest.raises(ValueError):
        chunk_file("spreadsheet", src, counter)


def test_crm_reads_a_landing_file_of_json_lines(tmp_path: Path, counter: TokenCounterLike) -> None:
    """The sample's own HubSpot landing files are JSON Lines: one record a line, each
    rendered with the others it is associated with (it failed with "Extra data")."""
    landing = tmp_path / "2026-10-19.jsonl"
    landing.write_text(
        "".join(json.dumps(r) + "\n" for r in (DEAL, COMPANY, CONTACT)), encoding="utf-8"
    )
    as_jsonl = chunk_file("crm", landing, counter)
    as_list = tmp_path / "crm.json"
    as_list.write_text(json.dumps([DEAL, COMPANY, CONTACT]), encoding="utf-8")
    assert as_jsonl == chunk_file("crm", as_list, counter)
    assert [r["doc"] for r in as_jsonl][:1] == ["hubspot:deal:42"]


def test_crm_still_refuses_a_file_that_is_not_json(
    tmp_path: Path, counter: TokenCounterLike
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(json.JSONDecodeError):
        chunk_file("crm", bad, counter)


def test_crm_file_that_is_not_json_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sophia_pipeline.cli import main

    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes, not a CRM export\n", encoding="utf-8")
    assert main(["chunk", "--kind", "crm", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not JSON or JSON Lines" in err
