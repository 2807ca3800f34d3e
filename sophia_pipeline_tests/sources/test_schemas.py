"""Source schemas on hand-written records: the shapes real APIs send beyond the sample."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from sophia_pipeline.documents import DocumentKind
from sophia_pipeline.sources import apollo, costar, github, hubspot, linear, slack


def hubspot_deal(**props: object) -> dict:
    return {
        "id": "42",
        "properties": {"dealname": "Acme - 10 seats", "dealstage": "contractsent", **props},
        "createdAt": "2024-05-01T10:00:00.000Z",
        "updatedAt": "2024-05-03T10:00:00.000Z",
        "archived": False,
        "associations": {
            "companies": {
                "results": [
                    {"id": "7", "type": "deal_to_company"},
                    {"id": "7", "type": "deal_to_company_unlabeled"},
                ]
            },
            "contacts": {"results": [{"id": "9", "type": "deal_to_contact"}]},
        },
        "propertiesWithHistory": {
            "dealstage": [
                {"value": "contractsent", "timestamp": "2024-05-03T10:00:00Z"},
                {"value": "qualifiedtobuy", "timestamp": "2024-05-01T10:00:00Z"},
            ]
        },
    }


def test_hubspot_properties_are_strings_on_the_wire() -> None:
    deal = hubspot.parse(
        "deal", hubspot_deal(amount="1200.50", hs_is_closed="false", closedate="", pipeline=None)
    )
    assert isinstance(deal, hubspot.HubSpotDeal)
    assert deal.properties.amount == 1200.5
    assert deal.properties.hs_is_closed is False
    assert deal.properties.closedate is None
    assert deal.associated("companies") == ["7"]  # one id listed once per label
    assert [v.value for v in deal.stage_history()] == ["qualifiedtobuy", "contractsent"]
    doc = hubspot.normalize(deal)
    assert doc.doc_id == "hubspot:deal:42"
    assert (doc.account_id, doc.deal_id, doc.deleted) == ("7", "42", False)
    assert doc.attributes["amount"] == 1200.5
    assert doc.attributes["contact_ids"] == ["9"]


def test_hubspot_archived_object_is_a_delete() -> None:
    raw = {
        "id": "5",
        "properties": {"firstname": "Ana", "lastname": "Ruiz", "associatedcompanyid": "7"},
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-02T10:00:00Z",
        "archived": True,
        "archivedAt": "2024-05-02T10:00:00Z",
    }
    doc = hubspot.normalize(hubspot.parse("contact", raw))
    assert doc.deleted and doc.title == "Ana Ruiz" and doc.account_id == "7"
    with pytest.raises(ValidationError):
        hubspot.parse("company", {**raw, "createdAt": "2024-05-01T10:00:00"})  # naive


def message(ts: str, text: str, thread_ts: str | None = None, **extra: object) -> dict:
    event = {"type": "message", "channel": "C1", "user": "U1", "text": text, "ts": ts, **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"team_id": "T1", "event": event, "event_id": f"Ev{ts}", "event_time": int(float(ts))}


def test_slack_threads_group_out_of_order_and_skip_edits() -> None:
    raws = [
        message("1714557602.000200", "second reply", "1714557600.000100", user="U3"),
        message("1714557600.000100", "parent"),
        message("1714557601.000300", "first reply", "1714557600.000100", user="U2"),
        message("1714557601.000300", "first reply", "1714557600.000100", user="U2"),  # retry
        message("1714557700.000001", "", subtype="message_deleted"),
        message("1714557800.000001", "lonely"),
    ]
    docs = slack.group_threads([slack.parse(r) for r in raws])
    assert [d.source_id for d in docs] == ["C1-1714557600.000100", "C1-1714557800.000001"]
    thread = docs[0]
    assert thread.kind == DocumentKind.CONVERSATION
    assert [t.text for t in thread.turns] == ["parent", "first reply", "second reply"]
    assert [t.speaker for t in thread.turns] == ["U1", "U2", "U3"]
    assert thread.title == "parent" and thread.author == "U1"
    assert thread.occurred_at == datetime(2024, 5, 1, 10, 0, 0, 100, tzinfo=UTC)
    assert thread.updated_at == slack.ts_to_datetime("1714557602.000200")


def test_slack_thread_whose_parent_is_elsewhere() -> None:
    reply = slack.parse(message("1714557601.000300", "late reply", "1714557600.000100"))
    (doc,) = slack.group_threads([reply])
    assert doc.source_id == "C1-1714557600.000100"
    assert doc.attributes["has_parent"] is False and doc.author is None


def test_linear_archived_issue_is_a_delete_keyed_by_uuid() -> None:
    raw = {
        "id": "2f1c7c1e-1111-4222-8333-444455556666",
        "identifier": "ENG-7",
        "title": "Fix it",
        "description": None,
        "state": {"name": "Done", "type": "completed"},
        "createdAt": "2024-05-01T10:00:00.000Z",
        "updatedAt": "2024-05-03T10:00:00.000Z",
        "completedAt": "2024-05-02T10:00:00.000Z",
        "archivedAt": "2024-05-03T10:00:00.000Z",
    }
    doc = linear.normalize(linear.parse(raw))
    assert doc.doc_id == "linear:issue:2f1c7c1e-1111-4222-8333-444455556666"
    assert doc.deleted and doc.text == "# Fix it\n"
    assert doc.attributes["identifier"] == "ENG-7"
    with pytest.raises(ValidationError):
        linear.parse({**raw, "identifier": "eng 7"})


def event(kind: str, payload: dict) -> dict:
    return {
        "id": "1",
        "type": kind,
        "actor": {"id": 1, "login": "dev"},
        "repo": {"id": 2, "name": "org/repo"},
        "payload": payload,
        "created_at": "2024-05-01T10:00:00Z",
    }


def test_github_push_files_rename_and_missing_source() -> None:
    push = github.parse(
        event(
            "PushEvent",
            {
                "ref": "refs/heads/main",
                "head": "b" * 40,
                "before": "a" * 40,
                "commits": [{"sha": "b" * 40, "author": {"email": "dev@x.io"}, "message": "m"}],
                "files": [
                    {
                        "filename": "src/new.py",
                        "previous_filename": "src/old.py",
                        "status": "renamed",
                        "source": "def f():\n    return 1\n",
                    },
                    {"filename": "src/other.go", "status": "modified", "patch": "@@ -1 +1 @@"},
                    {"filename": "web/gone.js", "status": "removed"},
                ],
            },
        )
    )
    docs = {d.source_id: d for d in github.normalize(push)}
    assert set(docs) == {"org/repo/src/old.py", "org/repo/src/new.py", "org/repo/web/gone.js"}
    assert docs["org/repo/src/old.py"].deleted and docs["org/repo/web/gone.js"].deleted
    new = docs["org/repo/src/new.py"]
    assert new.kind == DocumentKind.CODE and not new.deleted
    assert new.attributes["language"] == "python" and new.author == "dev@x.io"


def test_github_unknown_event_types_yield_nothing() -> None:
    watch = github.parse(event("WatchEvent", {"action": "started"}))
    assert isinstance(watch, github.OtherEvent)
    assert github.normalize(watch) == []
    with pytest.raises(ValidationError):
        github.parse(event("PushEvent", {"ref": "refs/heads/main"}))


def test_costar_blank_fields_are_null_and_header_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "costar_2024-05-01.csv"
    good.write_text(
        ",".join(costar.COLUMNS) + "\n"
        'CS-1,1 Main St,Austin,TX,Office,1000,30.5,0.125,,,"Quiet, ""turnkey"" space",'
        "2024-04-30T10:00:00Z\n"
    )
    ((n, prop),) = list(costar.read_batch(good))
    assert n == 1 and prop.last_sale_price is None and prop.last_sale_date is None
    assert prop.notes == 'Quiet, "turnkey" space'
    assert costar.batch_date(good) == date(2024, 5, 1)
    doc = costar.normalize(prop)
    assert doc.doc_id == "costar:property:CS-1" and doc.attributes["vacancy_rate"] == 0.125
    bad = tmp_path / "costar_2024-05-02.csv"
    bad.write_text("property_id,address\nCS-1,x\n")
    with pytest.raises(ValueError):
        list(costar.read_batch(bad))


def test_apollo_person_without_organization() -> None:
    person = apollo.parse(
        {
            "id": "abc",
            "first_name": "Li",
            "last_name": "Wu",
            "updated_at": "2024-05-01T12:00:00.000+00:00",
        }
    )
    doc = apollo.normalize(person)
    assert doc.title == "Li Wu" and doc.kind == DocumentKind.CRM
    assert doc.occurred_at == doc.updated_at and doc.account_id is None
    assert "company_domain" not in doc.attributes
