"""Taggers: sentiment, competitor mentions and their scoring, talking points, outcome."""

from __future__ import annotations

import pytest

from sophia_pipeline.documents import Turn
from sophia_pipeline.processing.chunking.base import Chunk
from sophia_pipeline.processing.tagging.catalog import DEFAULT_TALKING_POINTS
from sophia_pipeline.processing.tagging.competitors import (
    CompetitorMatcher,
    Mention,
    PhraseMatcher,
    score_mentions,
    summarize_mentions,
)
from sophia_pipeline.processing.tagging.outcome import (
    UNKNOWN,
    call_outcome,
    deal_stage,
    normalize_stage,
    outcome_for_stage,
)
from sophia_pipeline.processing.tagging.sentiment import (
    call_sentiment,
    label,
    sentiment,
    weighted_mean,
)
from sophia_pipeline.processing.tagging.talking_points import (
    TalkingPointMatcher,
    coverage,
    talking_points,
)
from sophia_pipeline.sample.vocab import SAMPLE_PRODUCTS

# --- sentiment ------------------------------------------------------------------------


def test_sentiment_is_vader_compound_in_range() -> None:
    good = sentiment("This is great, we love the product and the team was amazing!")
    bad = sentiment("This is terrible. The rollout was a disaster and we are angry.")
    assert 0.5 < good <= 1.0
    assert -1.0 <= bad < -0.5
    assert sentiment("") == 0.0
    assert sentiment("The meeting is on Tuesday.") == 0.0
    assert (label(good), label(bad), label(0.0)) == ("positive", "negative", "neutral")


def test_call_sentiment_is_token_weighted() -> None:
    chunks = [
        Chunk("c", 0, "We love it, this is wonderful and great.", 0, 1, 30),
        Chunk("c", 1, "Awful.", 1, 2, 10),
    ]
    expected = (sentiment(chunks[0].text) * 30 + sentiment(chunks[1].text) * 10) / 40
    assert call_sentiment(chunks) == pytest.approx(expected)
    assert call_sentiment([]) is None
    assert weighted_mean([1.0, -1.0], [3, 1]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        weighted_mean([1.0], [1, 2])


# --- competitor matching: boundaries ----------------------------------------------------


@pytest.fixture(scope="module")
def matcher() -> CompetitorMatcher:
    # The sample's product names: the mechanics below do not depend on whose rivals they are.
    return CompetitorMatcher(SAMPLE_PRODUCTS)


def _found(matcher: CompetitorMatcher, text: str) -> list[tuple[str, str]]:
    return [(m.competitor, m.matched) for m in matcher.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We use Salesforce today.", [("Salesforce", "Salesforce")]),
        ("salesforce's pricing", [("Salesforce", "salesforce")]),
        ("Salesforce’s pricing", [("Salesforce", "Salesforce")]),
        ("a very salesforcey workflow", []),
        ("presalesforce and salesforces", []),
        ("They moved to Gong.io last year", [("Gong", "Gong.io")]),
        ("Gong.", [("Gong", "Gong")]),
        ("We use Zoho CRM, and Zoho Books too", [("Zoho", "Zoho CRM"), ("Zoho", "Zoho")]),
        ("zohomail is not zoho", [("Zoho", "zoho")]),
        ("ZoomInfo Chorus or chorus.ai", [("Chorus", "ZoomInfo Chorus"), ("Chorus", "chorus.ai")]),
        ("HUBSPOT-like or Hub Spot", [("HubSpot", "HUBSPOT"), ("HubSpot", "Hub Spot")]),
        ("SFDC_admin", []),
        ("(Outreach.io)", [("Outreach", "Outreach.io")]),
        (
            "Pipedrive,Clari;Outreach",
            [("Pipedrive", "Pipedrive"), ("Clari", "Clari"), ("Outreach", "Outreach")],
        ),
        ("Clarity is not Clari", [("Clari", "Clari")]),
        ("", []),
    ],
)
def test_boundaries(matcher: CompetitorMatcher, text: str, expected: list[tuple[str, str]]) -> None:
    assert _found(matcher, text) == expected


def test_offsets_survive_case_folding_that_changes_length(matcher: CompetitorMatcher) -> None:
    text = "İİİ we evaluated HubSpot"
    [m] = matcher.find(text)
    assert text[m.start : m.end] == "HubSpot"


def test_mention_offsets_and_context(matcher: CompetitorMatcher) -> None:
    text = "Intro words here. " * 20 + "We compared Clari last week." + " Tail words." * 20
    [m] = matcher.find(text, doc_id="gong:call:1", offset=1000)
    assert m.doc_id == "gong:call:1"
    assert text[m.start - 1000 : m.end - 1000] == "Clari"
    assert m.context == text[m.context_start - 1000 : m.context_end - 1000]
    assert m.context_start - 1000 >= m.start - 1000 - matcher.window_chars
    # The window is cut at whitespace: no half words at its edges.
    assert not m.context[0].isspace() and not m.context[-1].isspace()
    assert text[m.context_start - 1000 - 1].isspace()


def test_custom_competitor_list() -> None:
    m = CompetitorMatcher({"Acme": ["Acme", "ACME Corp"]}, window_chars=20)
    assert [x.competitor for x in m.find("acme corp and Acme")] == ["Acme", "Acme"]
    assert m.find("Salesforce") == []


def test_phrase_matcher_suffixes_and_empty() -> None:
    pm = PhraseMatcher({"integrations": ["integration"]}, suffixes=("s",))
    assert [(h.start, h.end) for h in pm.find("integrations, integrationy")] == [(0, 12)]
    assert PhraseMatcher({}).find("anything") == []


# --- threat levels ----------------------------------------------------------------------


def test_threat_levels_follow_the_documented_rule(matcher: CompetitorMatcher) -> None:
    [plain] = matcher.find("Pipedrive came up.")
    assert (plain.threat, plain.cues) == (1, ())
    [evaluating] = matcher.find("They are evaluating Pipedrive.")
    assert (evaluating.threat, evaluating.cues) == (2, ("evaluating",))
    [worst] = matcher.find(
        "We are already using Salesforce, and honestly it is terrible and frustrating, "
        "but HubSpot quoted a cheaper price so we are evaluating a switch."
    )[:1]
    assert worst.competitor == "Salesforce"
    assert worst.sentiment < -0.05
    assert worst.cues == ("evaluating", "incumbent", "pricing_or_switching")
    assert worst.threat == 5


def test_summarize_mentions(matcher: CompetitorMatcher) -> None:
    mentions = matcher.find("Clari is fine. We are evaluating Clari and Gong.")
    summary = summarize_mentions(mentions)
    assert summary["Clari"]["mentions"] == 2
    assert summary["Gong"]["max_threat"] >= 2


# --- precision / recall -------------------------------------------------------------------


def test_score_mentions_with_spans(matcher: CompetitorMatcher) -> None:
    text = "We use Gong.io and Salesforce's CRM; a gong rang."
    predicted = matcher.find(text)
    truth = [
        ("Gong", text.index("Gong.io"), text.index("Gong.io") + 7),
        # Labelled with the possessive: overlap still matches.
        ("Salesforce", text.index("Salesforce"), text.index("Salesforce") + 12),
    ]
    precision, recall = score_mentions(predicted, truth)
    # "a gong rang" is a false positive the matcher cannot tell from the product.
    assert (precision, recall) == (pytest.approx(2 / 3), 1.0)


def test_score_mentions_forms() -> None:
    assert score_mentions([], []) == (1.0, 1.0)
    assert score_mentions([], [("call1", "Gong")]) == (1.0, 0.0)
    assert score_mentions([("call1", "Gong")], []) == (0.0, 1.0)
    # Plain keys count multiplicity.
    assert score_mentions([("c", "Gong"), ("c", "Gong")], [("c", "Gong")]) == (0.5, 1.0)
    # Dicts and 4-tuples carry a document id; a different document never matches.
    pred = [{"doc_id": "a", "competitor": "Clari", "start": 0, "end": 5}, ("b", "Clari", 0, 5)]
    truth = [("a", "Clari", 2, 4), ("c", "Clari", 0, 5)]
    assert score_mentions(pred, truth) == (0.5, 0.5)
    m = Mention("Clari", "Clari", "Clari", 0, 5, "Clari", 0, 5, 0.0, 1, doc_id="a")
    assert score_mentions([m], [("a", "Clari", 0, 5)]) == (1.0, 1.0)
    # Same competitor, disjoint spans: no match.
    assert score_mentions([("Clari", 0, 5)], [("Clari", 10, 15)]) == (0.0, 0.0)


# --- talking points ------------------------------------------------------------------------


def test_talking_points_defaults_and_boundaries() -> None:
    text = (
        "Our integrations are native; SSO and SOC 2 come standard. "
        "A lasso is not sso. Payback period is short, see the case study."
    )
    assert talking_points(text) == {
        "integrations": 1,
        "security": 3,
        "roi": 1,
        "customer_proof": 1,
    }


def test_talking_points_by_role_and_coverage() -> None:
    matcher = TalkingPointMatcher()
    turns = [
        Turn(speaker="Rep", role="rep", text="Onboarding takes two weeks, with SSO."),
        Turn(speaker="Buyer", role="prospect", text="What about a volume discount?"),
    ]
    rep_hits = matcher.in_turns(turns)
    assert {(h.point, h.speaker) for h in rep_hits} == {
        ("time_to_value", "Rep"),
        ("security", "Rep"),
    }
    all_hits = matcher.in_turns(turns, roles=None)
    assert "pricing_flexibility" in {h.point for h in all_hits}
    assert coverage(rep_hits, DEFAULT_TALKING_POINTS) == pytest.approx(2 / 6)
    assert coverage([], []) == 1.0


def test_custom_talking_points() -> None:
    m = TalkingPointMatcher({"ai": ["machine learning", "AI"]})
    assert m.counts("AI and Machine Learning, but not FAIR") == {"ai": 2}


# --- outcome ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "outcome"),
    [
        ("closedwon", "won"),
        ("Closed Won", "won"),
        ("closed_lost", "lost"),
        ("contractsent", "negotiation"),
        ("appointmentscheduled", "early_stage"),
        ("123456789", UNKNOWN),
        ("", UNKNOWN),
        (None, UNKNOWN),
    ],
)
def test_outcome_for_stage(stage: str | None, outcome: str) -> None:
    assert outcome_for_stage(stage) == outcome


def test_call_outcome_from_linked_deal() -> None:
    deals = {
        "42": {"id": "42", "properties": {"dealstage": "closedwon"}},
        "43": {"stage": "qualifiedtobuy"},
    }
    assert call_outcome("42", deals) == "won"
    assert call_outcome("43", deals) == "qualified"
    assert call_outcome("99", deals) == UNKNOWN
    assert call_outcome(None, deals) == UNKNOWN
    assert call_outcome("42", deals, {"Closed Won": "success"}) == "success"
    assert deal_stage(None) is None
    assert normalize_stage("Decision-Maker Bought In") == "decisionmakerboughtin"
