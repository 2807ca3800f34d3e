"""Which names count as competitor mentions: the deployment's catalog, code, integration
talk and homonyms. Each bug the issue reported has a case here that failed before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sophia_pipeline.processing.tagging.catalog import (
    CatalogError,
    CompetitorCatalog,
    default_catalog,
    load_catalog,
    parse_catalog,
)
from sophia_pipeline.processing.tagging.competitors import CompetitorMatcher

CATALOG = CompetitorCatalog(
    competitors={"Clari": ["Clari"], "Outreach": ["Outreach", "Outreach.io"]},
    integrations={"HubSpot": ["HubSpot"], "Salesforce": ["Salesforce", "SFDC"]},
    homonyms=frozenset({"Outreach"}),
)


@pytest.fixture(scope="module")
def matcher() -> CompetitorMatcher:
    return CompetitorMatcher(CATALOG)


def found(matcher: CompetitorMatcher, text: str) -> list[str]:
    return [m.matched for m in matcher.find(text)]


@pytest.mark.parametrize(
    "text",
    [
        # the cases: a shell command inside a ticket, an integration ticket
        "Steps: sophia-pipeline replay --source clari --day 2024-04-02",
        "Add Clari connector",
        # code of every kind
        "Try `clari-cli export` first",
        "```\nfrom clari import Client\n```",
        "~~~\nClari forecast dump\n~~~",
        "$ curl -H 'x' clari",
        "set --vendor=clari and rerun",
        "edit vendors/clari.yaml and redeploy",
        "the clari.py module is untested",
        "vendor=clari in the tenant file",
        "see https://www.clari.com/pricing for details",
        "mail ops@clari.com",
        # integration and configuration talk, before and after the name
        "The Clari sync failed twice overnight.",
        "We need to sync with Clari every hour.",
        "Import from Clari is half done.",
        "Where do I paste the Clari API key?",
        "Rotate the Clari webhook secret.",
        "Pushes to Clari are rate limited.",
        "Build a connector for Outreach sequences.",
        "Their Outreach.io webhooks retry forever.",
        # homonyms read as words
        "Our outreach to the board failed.",
        "Outreach to new logos slowed in Q3.",
        # the company's own tools are not competitors at all
        "Log it in HubSpot and Salesforce after the call.",
    ],
)
def test_not_a_competitor_mention(matcher: CompetitorMatcher, text: str) -> None:
    assert found(matcher, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We're trialling Clari against you this month.", ["Clari"]),
        ("Clari's quote came in 20% lower.", ["Clari"]),
        ("Outreach is what the team already uses.", ["Outreach"]),
        ("We might consolidate on Outreach next year.", ["Outreach"]),
        # an integration word that belongs to another, nearer name
        ("Clari has a tighter Salesforce integration than you.", ["Clari"]),
        ("They want us to sync with HubSpot the way Clari does.", ["Clari"]),
        ("Outreach, but their HubSpot sync is flaky.", ["Outreach"]),
        # a sentence with a double dash is not a command line
        ("Honestly -- and I mean it -- Clari is cheaper.", ["Clari"]),
        # a code span elsewhere does not hide a mention outside it
        ("Run `make test` and then tell Clari's rep we passed.", ["Clari"]),
    ],
)
def test_a_competitor_mention(matcher: CompetitorMatcher, text: str, expected: list[str]) -> None:
    assert [m.competitor for m in matcher.find(text)] == expected


def test_classify_says_why_a_name_was_left_out(matcher: CompetitorMatcher) -> None:
    reasons = [r for _, r in matcher.classify("Add Clari connector. `clari` Clari is cheaper.")]
    assert reasons[0].startswith("integration") and reasons[1] == "code span"
    assert reasons[2] is None


def test_the_demo_catalog_keeps_own_tools_out_of_the_competitors() -> None:
    catalog = default_catalog()
    for own in ("HubSpot", "Gong", "Salesforce", "Slack", "Linear"):
        assert own in catalog.integrations and own not in catalog.competitors
    assert {"Clari", "Chorus", "Outreach"} <= set(catalog.competitors)
    demo = CompetitorMatcher()
    assert demo.find("We use HubSpot and record calls with Gong.") == []
    assert [m.competitor for m in demo.find("They're comparing us with Chorus.")] == ["Chorus"]


def test_a_catalog_file_in_yaml_or_json(tmp_path: Path) -> None:
    y = tmp_path / "c.yaml"
    y.write_text(
        "company: Acme\ncompetitors:\n  Globex: [Globex, GBX]\n  Initech:\n"
        "    aliases: [Initech]\n    homonym: true\nintegrations:\n  Jira: null\n"
    )
    cat = load_catalog(y)
    assert cat.company == "Acme" and cat.competitors["Globex"] == ["Globex", "GBX"]
    assert cat.integrations == {"Jira": ["Jira"]} and cat.homonyms == {"Initech"}
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"competitors": {"Globex": ["Globex"]}}))
    assert load_catalog(j).competitors == {"Globex": ["Globex"]}
    m = CompetitorMatcher(load_catalog(y))
    assert [x.competitor for x in m.find("GBX pricing beat ours")] == ["Globex"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"integrations": {}}, "competitors"),
        ({"competitors": ["Globex"]}, "map each name"),
        ({"competitors": {"Globex": "Globex"}}, "list of strings"),
        ({"competitors": {"Globex": {"alias": ["x"]}}}, "unknown keys"),
        ({"competitors": {}, "extra": 1}, "unknown top-level"),
        (
            {"competitors": {"HubSpot": ["HubSpot"]}, "integrations": {"Hub": ["hubspot"]}},
            "in both",
        ),
    ],
)
def test_a_bad_catalog_says_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(data)


def test_a_missing_or_broken_catalog_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("competitors: [unclosed")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(bad)


def test_the_setting_points_at_an_existing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sophia_pipeline.settings import load_settings

    f = tmp_path / "catalog.yaml"
    f.write_text("competitors: {Globex: [Globex]}\n")
    monkeypatch.setenv("SOPHIA_COMPETITOR_CATALOG", str(f))
    assert load_settings().competitor_catalog == f.resolve()
    monkeypatch.setenv("SOPHIA_COMPETITOR_CATALOG", str(tmp_path / "missing.yaml"))
    with pytest.raises(Exception, match="no such file"):
        load_settings()
