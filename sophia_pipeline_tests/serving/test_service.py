"""The read service against the materialized sample: every answer checked against the
warehouse rows it comes from. The pure helpers (trend, open deals, summaries) are
tested on their own first, without the demo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from pydantic import ValidationError

from sophia_pipeline.serving.errors import InvalidRequest, NotFound
from sophia_pipeline.serving.models import (
    AccountRequest,
    AnswerRequest,
    KpiRequest,
    Mention,
    MentionsRequest,
)
from sophia_pipeline.serving.search import SearchRequest
from sophia_pipeline.serving.service import open_deals, sentiment_trend, summarize
from sophia_pipeline_tests.serving.demo import Demo

# --- pure helpers ------------------------------------------------------------------------


def test_sentiment_trend_compares_older_and_newer_halves() -> None:
    # newest first: the newer calls are happier
    assert sentiment_trend([0.6, 0.5, 0.1, 0.0]).direction == "improving"
    assert sentiment_trend([0.0, 0.1, 0.5, 0.6]).direction == "declining"
    assert sentiment_trend([0.3, 0.31, 0.3]).direction == "steady"
    assert sentiment_trend([0.3, None]).direction == "unknown"
    trend = sentiment_trend([0.4, None, 0.2])
    assert (trend.earlier, trend.recent, trend.calls) == (0.2, 0.4, 2)


def test_open_deals_leave_closed_stages_and_bad_attributes_out() -> None:
    def row(sid: str, attributes: str) -> dict[str, object]:
        return {
            "source_id": sid,
            "title": sid,
            "occurred_at": datetime(2026, 9, 1),
            "attributes": attributes,
        }

    rows = [
        row("1", '{"dealstage": "closedwon", "amount": "10"}'),
        row("2", '{"dealstage": "contractsent", "amount": "2500.5"}'),
        row("3", "not json"),
    ]
    deals = open_deals(rows)
    assert [d.deal_id for d in deals] == ["2", "3"]
    assert deals[0].amount == 2500.5 and deals[0].stage == "contractsent"
    assert deals[1].stage is None


def _mention(competitor: str, threat: int, day: int) -> Mention:
    return Mention(
        mention_id=f"{competitor}{day}",
        competitor=competitor,
        source="gong",
        doc_id="d",
        chunk_id="d#0",
        account_id=None,
        deal_id=None,
        mentioned_at=datetime(2026, 9, day),
        threat_level=threat,
        sentiment=None,
        matched_text=competitor,
        context=None,
    )


def test_summaries_rank_by_mentions() -> None:
    out = summarize([_mention("A", 1, 1), _mention("B", 5, 2), _mention("B", 3, 4)])
    assert [(s.competitor, s.mentions, s.max_threat, s.avg_threat) for s in out] == [
        ("B", 2, 5, 4.0),
        ("A", 1, 1, 1.0),
    ]
    assert out[0].last_mentioned_at == datetime(2026, 9, 4, tzinfo=UTC)


def test_requests_refuse_what_needs_no_data_to_refuse() -> None:
    with pytest.raises(ValidationError, match="after"):
        KpiRequest(start=date(2026, 9, 2), end=date(2026, 9, 1))
    with pytest.raises(ValidationError):
        MentionsRequest(limit=0)
    with pytest.raises(ValidationError):
        MentionsRequest(limit=10_000)
    with pytest.raises(ValidationError):
        MentionsRequest(sources=["nope"])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        AccountRequest(account_id="x' OR '1'='1")
    with pytest.raises(ValidationError):
        MentionsRequest.model_validate({"competitr": "Gong"})  # a misspelt filter


# --- against the materialized sample -----------------------------------------------------


@pytest.mark.slow
def test_kpis_equal_the_rollup_rows(demo: Demo) -> None:
    service = demo.service()
    rows = demo.warehouse.query(
        "SELECT * FROM executive_intelligence.kpi_rollups ORDER BY kpi_date"
    )
    assert len(rows) > 30
    first, last = (
        pd.Timestamp(rows["kpi_date"].iloc[5]).date(),
        pd.Timestamp(rows["kpi_date"].iloc[20]).date(),
    )
    got = service.get_kpis(KpiRequest(start=first, end=last))
    want = rows[
        (rows["kpi_date"] >= pd.Timestamp(first)) & (rows["kpi_date"] <= pd.Timestamp(last))
    ]
    assert [d.kpi_date for d in got.days] == [pd.Timestamp(x).date() for x in want["kpi_date"]]
    for day, (_, row) in zip(got.days, want.iterrows(), strict=True):
        assert day.revenue_mtd == pytest.approx(row["revenue_mtd"])
        assert day.open_deals == row["open_deals"]
        assert day.pipeline_value == pytest.approx(row["pipeline_value"])
    assert got.latest == got.days[-1]
    # Default: the 30 days up to the newest rollup; a second read comes from the cache.
    default = service.get_kpis(KpiRequest())
    assert default.end == pd.Timestamp(rows["kpi_date"].iloc[-1]).date()
    assert default.start == default.end - timedelta(days=29)
    assert len(default.days) == 30
    assert service.get_kpis(KpiRequest()) == default


@pytest.mark.slow
def test_mentions_equal_the_warehouse_rows_with_filters(demo: Demo) -> None:
    service = demo.service()
    table = demo.warehouse.query("SELECT * FROM competitive_intelligence.competitor_mentions")
    competitor = table["competitor"].value_counts().index[0]
    got = service.competitor_mentions(MentionsRequest(competitor=competitor.upper(), limit=500))
    want = table[table["competitor"] == competitor]
    assert {m.mention_id for m in got.mentions} == set(want["mention_id"])
    assert got.competitors[0].competitor == competitor
    assert got.competitors[0].mentions == len(want)
    assert got.mentions == sorted(got.mentions, key=lambda m: m.mentioned_at, reverse=True)
    # The totals cover every mention the filters cover, not the page returned.
    page = service.competitor_mentions(MentionsRequest(limit=1))
    assert len(page.mentions) == 1
    counts = table["competitor"].value_counts()
    assert {c.competitor: c.mentions for c in page.competitors} == counts.to_dict()
    only = service.competitor_mentions(MentionsRequest(sources=["slack"], limit=500))
    assert {m.source for m in only.mentions} <= {"slack"}
    assert len(only.mentions) == int((table["source"] == "slack").sum())
    # A day range includes both ends.
    day = pd.Timestamp(want["mentioned_at"].iloc[0]).date()
    one_day = service.competitor_mentions(MentionsRequest(start=day, end=day, limit=500))
    expected = table[pd.to_datetime(table["mentioned_at"]).dt.date == day]
    assert {m.mention_id for m in one_day.mentions} == set(expected["mention_id"])


@pytest.mark.slow
def test_search_finds_the_call_of_a_known_mention(demo: Demo) -> None:
    service = demo.service()
    mention = demo.warehouse.query(
        "SELECT m.doc_id, m.matched_text, t.title "
        "FROM competitive_intelligence.competitor_mentions m "
        "JOIN gong_intelligence.call_transcripts t ON t.doc_id = m.doc_id "
        "WHERE m.source = 'gong' ORDER BY m.mention_id LIMIT 1"
    ).iloc[0]
    found = service.search(SearchRequest(query=f"{mention['matched_text']} {mention['title']}"))
    assert mention["doc_id"] in [h.doc_id for h in found.hits[:5]]
    hit = next(h for h in found.hits if h.doc_id == mention["doc_id"])
    assert hit.title == mention["title"] and hit.source == "gong" and hit.occurred_at is not None


@pytest.mark.slow
def test_account_overview_cites_only_the_accounts_chunks(demo: Demo) -> None:
    service = demo.service()
    account = str(
        demo.warehouse.query(
            "SELECT account_id FROM gong_intelligence.call_transcripts "
            "GROUP BY account_id ORDER BY COUNT(*) DESC, account_id LIMIT 1"
        )["account_id"].iloc[0]
    )
    overview = service.account_overview(AccountRequest(account_id=account, query="pricing"))
    calls = demo.warehouse.query(
        "SELECT call_id FROM gong_intelligence.call_transcripts WHERE account_id = ?", [account]
    )
    assert {c.call_id for c in overview.calls} == set(calls["call_id"]) or len(overview.calls) == 10
    assert overview.calls == sorted(overview.calls, key=lambda c: c.started_at, reverse=True)
    assert overview.name
    assert overview.relevant_chunks, "no chunk of the account found"
    owners = demo.warehouse.query(
        "SELECT c.chunk_id, d.account_id FROM staging.chunks c "
        "JOIN staging.documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ("
        + ", ".join("?" for _ in overview.relevant_chunks)
        + ")",
        [c.chunk_id for c in overview.relevant_chunks],
    )
    assert set(owners["account_id"]) == {account}
    assert len(owners) == len(overview.relevant_chunks)
    assert all(m.account_id == account for m in overview.competitor_mentions)
    deals = demo.warehouse.query(
        "SELECT source_id, attributes FROM staging.documents WHERE source = 'hubspot' "
        "AND entity_type = 'deal' AND account_id = ? AND NOT deleted",
        [account],
    )
    closed = deals[deals["attributes"].str.contains('"dealstage": "closed')]
    assert {d.deal_id for d in overview.open_deals} == set(deals["source_id"]) - set(
        closed["source_id"]
    )


@pytest.mark.slow
def test_unknown_account_and_unknown_source_are_refused(demo: Demo) -> None:
    service = demo.service()
    with pytest.raises(NotFound):
        service.account_overview(AccountRequest(account_id="no-such-account"))
    with pytest.raises(InvalidRequest, match="nope"):
        service.dead_letters(source="nope")


@pytest.mark.slow
def test_list_sources_counts_match_the_tables(demo: Demo) -> None:
    service = demo.service()
    got = {s.source: s for s in service.list_sources().sources}
    docs = demo.warehouse.query(
        "SELECT source, COUNT(*) AS n FROM staging.documents WHERE NOT deleted GROUP BY source"
    )
    vectors = demo.warehouse.query(
        "SELECT source, COUNT(*) AS n FROM ops.vector_manifest GROUP BY source"
    )
    assert {s: got[s].documents for s in docs["source"]} == dict(
        zip(docs["source"], docs["n"], strict=True)
    )
    assert {s: got[s].vectors for s in vectors["source"]} == dict(
        zip(vectors["source"], vectors["n"], strict=True)
    )
    assert service.list_sources().index_vectors == sum(vectors["n"])
    assert all(got[s].newest_record_at is not None for s in docs["source"])


@pytest.mark.slow
def test_answer_without_an_llm_is_extractive_and_cited(demo: Demo) -> None:
    service = demo.service()
    result = service.answer(AnswerRequest(question="What did customers say about pricing?"))
    assert result.mode == "extractive"
    assert result.citations
    chunk_ids = {c.chunk_id for c in result.citations}
    stored = demo.warehouse.query(
        "SELECT chunk_id FROM staging.chunks WHERE chunk_id IN ("
        + ", ".join("?" for _ in chunk_ids)
        + ")",
        list(chunk_ids),
    )
    assert set(stored["chunk_id"]) == chunk_ids
