"""Every sample landing record validates against its source schema, normalizes into the
common document schema, and points only at objects that exist."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sophia_pipeline.documents import Document, DocumentKind, render_turns
from sophia_pipeline.sources import apollo, costar, github, gong, hubspot, linear, slack
from sophia_pipeline_tests.sample.landing import costar_rows, labels, records


def check_doc(doc: Document, source: str, kind: DocumentKind) -> None:
    assert doc.source == source
    assert doc.kind == kind
    assert doc.doc_id == Document.make_id(source, doc.entity_type, doc.source_id)
    assert doc.doc_id.split(":", 2) == [source, doc.entity_type, doc.source_id]
    assert "#" not in doc.doc_id  # chunk ids append "#<ordinal>"
    assert doc.occurred_at.tzinfo is not None
    if doc.updated_at is not None:
        assert doc.updated_at >= doc.occurred_at


@pytest.fixture(scope="module")
def crm(landing: Path) -> dict[str, dict[str, hubspot.HubSpotRecord]]:
    out: dict[str, dict[str, hubspot.HubSpotRecord]] = {}
    for entity, folder in hubspot.FOLDERS.items():
        out[entity] = {
            r["id"]: hubspot.parse(entity, r) for r in records(landing, f"hubspot/{folder}")
        }
    return out


def test_hubspot_records_validate_and_normalize(crm: dict) -> None:
    for entity, objects in crm.items():
        assert objects
        docs = [hubspot.normalize(o) for o in objects.values()]
        for doc in docs:
            check_doc(doc, "hubspot", DocumentKind.CRM)
            assert doc.entity_type == entity
            assert doc.account_id
            assert doc.attributes
        # A few archived objects of every type, and they normalize as deletes.
        deleted = [d for d in docs if d.deleted]
        assert 1 <= len(deleted) < len(docs) / 4, entity
        assert all("archived_at" in d.attributes for d in deleted)


def test_hubspot_cross_references_resolve(crm: dict) -> None:
    companies, contacts, deals = crm["company"], crm["contact"], crm["deal"]
    for contact in contacts.values():
        assert contact.company_id in companies
        assert contact.id in companies[contact.company_id].associated("contacts")
    for deal in deals.values():
        assert deal.company_id in companies
        assert deal.id in companies[deal.company_id].associated("deals")
        for cid in deal.associated("contacts"):
            assert contacts[cid].company_id == deal.company_id
        history = deal.stage_history()
        assert history[-1].value == deal.properties.dealstage
        assert history[0].timestamp == deal.createdAt
        doc = hubspot.normalize(deal)
        assert doc.deal_id == deal.id and doc.account_id == deal.company_id
        assert [h["stage"] for h in doc.attributes["stage_history"]] == [h.value for h in history]
        assert deal.properties.amount and deal.properties.amount > 0
        assert deal.properties.hs_is_closed == (
            deal.properties.dealstage in ("closedwon", "closedlost")
        )


def test_gong_calls_reference_live_crm_objects(landing: Path, crm: dict) -> None:
    companies, contacts, deals = crm["company"], crm["contact"], crm["deal"]
    emails = {c.properties.email: c for c in contacts.values()}
    for raw in records(landing, "gong/calls"):
        call = gong.GongCall.model_validate(raw)
        doc = gong.normalize(call)
        check_doc(doc, "gong", DocumentKind.CONVERSATION)
        assert call.call_id.startswith("gong-") and len(call.call_id) == 11
        assert call.account_id in companies and call.deal_id in deals
        deal = deals[call.deal_id]
        assert deal.company_id == call.account_id and not deal.archived
        assert deal.createdAt <= call.started
        if deal.properties.hs_is_closed:
            assert deal.properties.closedate and call.started <= deal.properties.closedate
        reps = [p for p in call.participants if p.role == "rep"]
        prospects = [p for p in call.participants if p.role == "prospect"]
        assert 1 <= len(reps) <= 2 and 1 <= len(prospects) <= 3
        assert call.rep_email == reps[0].email
        for p in prospects:
            contact = emails[p.email]
            assert contact.id in deal.associated("contacts") and not contact.archived
            assert p.company == companies[call.account_id].properties.name
        speakers = {p.speaker_id for p in call.participants}
        assert {t.speaker_id for t in call.turns} <= speakers
        starts = [t.start_s for t in call.turns]
        assert starts == sorted(starts) and call.duration_s > starts[-1]


def test_slack_messages_group_into_labelled_threads(landing: Path) -> None:
    envelopes = [slack.parse(r) for r in records(landing, "slack/messages")]
    docs = slack.group_threads(envelopes)
    thread_labels = {lab["thread_key"]: lab for lab in labels(landing, "slack_threads")}
    assert sorted(d.source_id for d in docs) == sorted(thread_labels)
    assert sum(len(d.turns) for d in docs) == len(envelopes)
    sizes = Counter(len(d.turns) for d in docs)
    assert sizes[1] > 0 and max(sizes) >= 5
    for doc in docs:
        check_doc(doc, "slack", DocumentKind.CONVERSATION)
        assert doc.attributes["has_parent"]
        assert doc.text == render_turns(doc.turns)[0]


def test_slack_speakers_mentions_and_channels_resolve_from_the_directory(landing: Path) -> None:
    envelopes = [slack.parse(r) for r in records(landing, "slack/messages")]
    users = [slack.SlackUser.model_validate(r) for r in records(landing, "slack/users")]
    channels = [slack.SlackChannel.model_validate(r) for r in records(landing, "slack/channels")]
    assert users and channels
    names = {u.id: u.display for u in users}
    # Half the members leave the display name empty: the real name stands in.
    assert all(names[u.id] == u.real_name for u in users)
    docs = slack.group_threads(envelopes, users, channels)
    speakers = {t.speaker for d in docs for t in d.turns}
    assert speakers <= set(names.values())  # no raw user id left
    assert all(d.attributes["channel_name"] in {c.name for c in channels} for d in docs)
    assert all(set(d.attributes["users"]) <= set(names) for d in docs)
    texts = [t.text for d in docs for t in d.turns]
    assert not any("<@U" in t for t in texts)
    assert any("@" + n in t for t in texts for n in names.values())


def test_slack_names_fall_back_and_unknown_ids_stay() -> None:
    ev = slack.SlackMessageEvent(
        channel="C1", user="U1", text="ping <@U2> and <@U9|bob>", ts="1.000001"
    )
    user = slack.SlackUser(id="U2", name="dlee", profile=slack.SlackProfile(display_name=" "))
    [doc] = slack.group_threads([ev], [user, slack.SlackUser(id="U1", real_name="Ann Lee")])
    assert doc.turns[0].speaker == "Ann Lee"
    assert doc.turns[0].text == "ping @dlee and <@U9|bob>"
    assert "channel_name" not in doc.attributes and doc.attributes["users"] == ["U1"]


def test_a_renamed_member_rebuilds_the_threads_they_spoke_in() -> None:
    from datetime import date

    from sophia_pipeline.sources.registry import SPECS, RawRecord

    spec = SPECS["slack"]

    def env(user: str, ts: str, channel: str = "C1") -> dict:
        return {"team_id": "T", "event_id": f"Ev{ts}", "event_time": 1,
                "event": {"channel": channel, "user": user, "text": "hi", "ts": ts}}  # fmt: skip

    day = date(2026, 9, 1)
    raw = [
        RawRecord("message", spec.parse("message", env("U1", "1.000001")), {}, day),
        RawRecord("message", spec.parse("message", env("U2", "2.000001", "C2")), {}, day),
        RawRecord("user", spec.parse("user", {"id": "U1", "real_name": "Ann"}), {}, day),
        RawRecord("channel", spec.parse("channel", {"id": "C1", "name": "sales"}), {}, day),
    ]
    assert spec.record_id("user", raw[2].record) == "user:U1"
    assert spec.record_id("message", raw[0].record) == "Ev1.000001"
    docs = spec.to_documents([raw[2]], lambda: raw)  # only the member changed
    assert [(d.source_id, d.turns[0].speaker, d.attributes["channel_name"]) for d, _ in docs] == [
        ("C1-1.000001", "Ann", "sales")
    ]


def test_linear_issues_validate_and_normalize(landing: Path) -> None:
    issues = [linear.parse(r) for r in records(landing, "linear/issues")]
    docs = [linear.normalize(i) for i in issues]
    for issue, doc in zip(issues, docs, strict=True):
        check_doc(doc, "linear", DocumentKind.DOCUMENT)
        assert doc.text.startswith(f"# {issue.title}\n\n## ")
        assert (issue.state.type == "completed") == (issue.completedAt is not None)
    assert any(d.deleted for d in docs) and not all(d.deleted for d in docs)
    assert len({i.identifier for i in issues}) == len(issues)


def test_github_events_validate_and_normalize(landing: Path) -> None:
    raw = records(landing, "github/events")
    events = [github.parse(r) for r in raw]
    assert not [e for e in events if isinstance(e, github.OtherEvent)]
    ids = Counter(e.id for e in events)
    assert 0 < sum(n > 1 for n in ids.values()) < len(ids) / 10  # redeliveries
    kinds = Counter(e.type for e in events)
    assert set(kinds) == {"PushEvent", "PullRequestEvent", "IssuesEvent", "IssueCommentEvent"}
    docs = [d for e in events for d in github.normalize(e)]
    by_kind = Counter(d.kind for d in docs)
    assert by_kind[DocumentKind.CODE] > 20 and by_kind[DocumentKind.DOCUMENT] > 20
    for doc in docs:
        check_doc(doc, "github", doc.kind)
        if doc.kind == DocumentKind.CODE:
            assert doc.deleted or doc.text
            assert doc.attributes["language"] in {"python", "javascript", "go", "java"}
    merged = [
        e for e in events
        if isinstance(e, github.PullRequestEvent) and e.payload.pull_request.merged
    ]  # fmt: skip
    assert merged
    assert any(d.deleted for d in docs if d.kind == DocumentKind.CODE)


def test_github_references_linear_issues(landing: Path) -> None:
    identifiers = {r["identifier"] for r in records(landing, "linear/issues")}
    bodies = [
        r["payload"]["pull_request"]["body"]
        for r in records(landing, "github/events")
        if r["type"] == "PullRequestEvent"
    ]
    fixes = [b.rsplit("Fixes ", 1)[1].strip() for b in bodies if "Fixes " in b]
    assert fixes and set(fixes) <= identifiers


def test_costar_rows_validate_and_normalize(landing: Path) -> None:
    files = sorted((landing / "costar" / "batches").glob("costar_*.csv"))
    rows = [(path, n, prop) for path in files for n, prop in costar.read_batch(path)]
    assert len(rows) == len(list(costar_rows(landing)))
    for path, _, prop in rows:
        doc = costar.normalize(prop)
        check_doc(doc, "costar", DocumentKind.DOCUMENT)
        assert doc.text == prop.notes and doc.text
        assert prop.updated_at.date() <= costar.batch_date(path)
        assert doc.attributes["vacancy_rate"] == prop.vacancy_rate
    assert any(p.last_sale_price is None for _, _, p in rows)


def test_apollo_people_validate_and_join_hubspot_by_domain(landing: Path, crm: dict) -> None:
    people = [apollo.parse(r) for r in records(landing, "apollo/contacts")]
    docs = [apollo.normalize(p) for p in people]
    for doc in docs:
        check_doc(doc, "apollo", DocumentKind.CRM)
        assert doc.attributes["email"].endswith("@" + doc.attributes["company_domain"])
    domains = {c.properties.domain for c in crm["company"].values()}
    joined = [d for d in docs if d.attributes["company_domain"] in domains]
    assert 0 < len(joined) < len(docs)
    emails = {c.properties.email for c in crm["contact"].values()}
    assert any(p.email in emails for p in people)
