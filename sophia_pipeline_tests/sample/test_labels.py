"""The ground-truth labels say exactly what the text says."""

from __future__ import annotations

import re
from pathlib import Path

from sophia_pipeline.documents import DEAL_STAGE_OUTCOMES
from sophia_pipeline.processing.tagging.catalog import DEFAULT_TALKING_POINTS
from sophia_pipeline.sample import vocab

from .landing import labels, records

# "Outreach", "Chorus" and "Gong" are English words too: written lower-case they would be
# ambiguous, so the data never does that.
LOWERCASE_ENGLISH_ALIAS = re.compile(r"(?<!\w)(outreach|chorus|gong)(?!\w)")


def calls_by_id(landing: Path) -> dict[str, dict]:
    return {c["call_id"]: c for c in records(landing, "gong/calls")}


def test_every_call_has_one_label(landing: Path) -> None:
    calls = calls_by_id(landing)
    ids = [lab["call_id"] for lab in labels(landing, "gong_calls")]
    assert sorted(ids) == sorted(calls)
    assert len(ids) == len(set(ids))


def test_mentions_point_at_their_alias(landing: Path) -> None:
    calls = calls_by_id(landing)
    for lab in labels(landing, "gong_calls"):
        turns = calls[lab["call_id"]]["turns"]
        assert lab["competitors"] == sorted({m["competitor"] for m in lab["mentions"]})
        for m in lab["mentions"]:
            assert m["alias"] in vocab.SAMPLE_PRODUCTS[m["competitor"]]
            text = turns[m["turn_index"]]["text"]
            assert m["alias"].lower() in text.lower()
            assert text[m["char_start"] : m["char_end"]] == m["surface"]
            assert m["surface"].lower().startswith(m["alias"].lower())


def test_competitor_labels_match_a_word_boundary_scan(landing: Path) -> None:
    calls = calls_by_id(landing)
    for lab in labels(landing, "gong_calls"):
        call = calls[lab["call_id"]]
        text = "\n".join(t["text"] for t in call["turns"])
        assert vocab.scan_competitors(text) == set(lab["competitors"]), lab["call_id"]
        # Names are spoken and rendered as speaker labels: they must be clean too.
        names = " ".join(p["name"] for p in call["participants"])
        assert not vocab.scan_competitors(names + " " + call["title"])


def test_talking_points_only_where_labelled_and_only_from_reps(landing: Path) -> None:
    calls = calls_by_id(landing)
    seen: set[str] = set()
    for lab in labels(landing, "gong_calls"):
        call = calls[lab["call_id"]]
        roles = {p["speaker_id"]: p["role"] for p in call["participants"]}
        rep_text = " ".join(t["text"] for t in call["turns"] if roles[t["speaker_id"]] == "rep")
        other = " ".join(t["text"] for t in call["turns"] if roles[t["speaker_id"]] != "rep")
        assert vocab.scan_talking_points(rep_text) == set(lab["talking_points"])
        assert not vocab.scan_talking_points(other)
        assert lab["talking_points"] == sorted(lab["talking_points"])
        seen.update(lab["talking_points"])
    assert seen == set(DEFAULT_TALKING_POINTS)


def test_outcome_is_the_linked_deals_stage(landing: Path) -> None:
    deals = {d["id"]: d for d in records(landing, "hubspot/deals")}
    calls = calls_by_id(landing)
    outcomes = set()
    for lab in labels(landing, "gong_calls"):
        deal = deals[calls[lab["call_id"]]["deal_id"]]
        assert lab["deal_id"] == deal["id"]
        assert lab["outcome"] == DEAL_STAGE_OUTCOMES[deal["properties"]["dealstage"]]
        outcomes.add(lab["outcome"])
    assert {"won", "lost"} <= outcomes
    assert len(outcomes) >= 4


def test_mentions_cover_aliases_cases_and_possessives(landing: Path) -> None:
    mentions = [m for lab in labels(landing, "gong_calls") for m in lab["mentions"]]
    assert {m["competitor"] for m in mentions} == set(vocab.SAMPLE_PRODUCTS)
    assert any(m["alias"] != m["competitor"] for m in mentions)
    assert any(m["surface"].endswith("'s") for m in mentions)
    assert any(m["surface"] == m["alias"].lower() != m["alias"] for m in mentions)
    calls = [c for c in labels(landing, "gong_calls")]
    assert any(not c["competitors"] for c in calls)
    assert any(len(c["competitors"]) >= 2 for c in calls)


def test_distractors_are_present_and_never_counted(landing: Path) -> None:
    texts = [t["text"] for c in records(landing, "gong/calls") for t in c["turns"]]
    texts += [r["event"]["text"] for r in records(landing, "slack/messages")]
    corpus = "\n".join(texts)
    present = [word for word, _, _ in vocab.DISTRACTORS if word in corpus]
    assert len(present) >= 5, present
    for word, line, reply in vocab.DISTRACTORS:
        assert word in line
        assert not vocab.scan_competitors(line + " " + reply)
        assert any(alias.lower() in word for _, alias in vocab.ALIASES)


def test_english_word_aliases_are_never_lowercase(landing: Path) -> None:
    texts = [t["text"] for c in records(landing, "gong/calls") for t in c["turns"]]
    texts += [r["event"]["text"] for r in records(landing, "slack/messages")]
    assert not [t for t in texts if LOWERCASE_ENGLISH_ALIAS.search(t)]


def test_slack_thread_labels_match_the_messages(landing: Path) -> None:
    threads: dict[str, list[str]] = {}
    for r in records(landing, "slack/messages"):
        e = r["event"]
        threads.setdefault(f"{e['channel']}-{e.get('thread_ts', e['ts'])}", []).append(e)
    thread_labels = labels(landing, "slack_threads")
    assert sorted(lab["thread_key"] for lab in thread_labels) == sorted(threads)
    assert any(lab["competitors"] for lab in thread_labels)
    for lab in thread_labels:
        msgs = sorted(threads[lab["thread_key"]], key=lambda e: float(e["ts"]))
        text = "\n".join(m["text"] for m in msgs)
        assert vocab.scan_competitors(text) == set(lab["competitors"])
        for m in lab["mentions"]:
            text = msgs[m["message_index"]]["text"]
            assert text[m["char_start"] : m["char_end"]] == m["surface"]


def test_banks_are_clean() -> None:
    """Filler never hides an alias or a phrase, even as a substring."""
    filler = (
        vocab.REP_OPENERS + vocab.PROSPECT_SMALLTALK + vocab.REP_AGENDAS
        + vocab.DISCOVERY_QUESTIONS + vocab.DISCOVERY_ANSWERS + vocab.REP_ACKS
        + vocab.REP_LEADINS + vocab.DEMO_LINES + vocab.UNANSWERED_REPLIES
        + vocab.REP_COMPETITOR_FOLLOWUPS + vocab.NEXT_STEPS_REP + vocab.NEXT_STEPS_PROSPECT
        + vocab.LONG_FORM + vocab.CALL_TITLES
        + [t for bank in vocab.REACTIONS.values() for t in bank]
        + [t for bank in vocab.OBJECTIONS.values() for t in bank]
        + [t for bank in vocab.POINT_PROMPTS.values() for t in bank]
    )  # fmt: skip
    assert [t for t in filler if not vocab.is_clean(t)] == []
    for point, lines in vocab.TALKING_POINT_LINES.items():
        for line in lines:
            assert vocab.scan_talking_points(line) == {point}, line
            assert not vocab.scan_competitors(line)
