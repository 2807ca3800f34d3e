"""Default vocabularies shared by the taggers and the sample generator.

Configurable at run time (the tagging resource takes its own lists); these defaults are
what the bundled sample data speaks about.
"""

from __future__ import annotations

# canonical competitor name -> aliases (matched case-insensitively, on word boundaries,
# possessives included: "Salesforce's" counts, "salesforcey" does not)
DEFAULT_COMPETITORS: dict[str, list[str]] = {
    "Salesforce": ["Salesforce", "SFDC", "Sales Cloud"],
    "HubSpot": ["HubSpot", "Hub Spot"],
    "Gong": ["Gong", "Gong.io"],
    "Clari": ["Clari"],
    "Outreach": ["Outreach.io", "Outreach"],
    "Chorus": ["Chorus", "Chorus.ai", "ZoomInfo Chorus"],
    "Pipedrive": ["Pipedrive"],
    "Zoho": ["Zoho CRM", "Zoho"],
}

# talking point -> phrases that show a rep used it
DEFAULT_TALKING_POINTS: dict[str, list[str]] = {
    "roi": ["return on investment", "roi", "payback period"],
    "security": ["soc 2", "soc2", "single sign-on", "sso", "encryption at rest"],
    "integrations": ["integration", "integrates with", "api access", "native connector"],
    "pricing_flexibility": ["annual discount", "flexible pricing", "volume discount"],
    "time_to_value": ["onboarding", "go live", "time to value", "implementation timeline"],
    "customer_proof": ["case study", "reference customer", "customers like you"],
}
