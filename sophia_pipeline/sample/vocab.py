"""What the sample data says: sentence banks, competitor mention templates, near-miss
distractors, and the scanners that keep the ground-truth labels exact.

Rules the banks obey, enforced by ``scan_competitors`` / ``scan_talking_points`` over every
generated call:

- A competitor alias appears only where a template put it and labelled it. "Outreach",
  "Chorus" and "Gong" are also English words, so they are only ever written capitalized, in
  the competitor sense; filler never uses them at all.
- A talking-point phrase appears only in a rep's turn and only where a talking-point
  template put it. Filler avoids every phrase even as a substring ("associate" would hide
  "sso"), so the labels hold whether a tagger matches on word boundaries or not.
- Distractors ("salesforcey", "gonging", "outreaching", "clarify") contain an alias as a
  substring but never on word boundaries: a correct tagger must not count them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from sophia_pipeline.processing.tagging.catalog import DEFAULT_TALKING_POINTS

# The products the sample's people talk about, with the aliases they use: rival revenue
# tools and the CRMs and call recorders prospects run. The labels mark every naming of
# one (the matching ground truth, scored by ``scoring.py`` with a matcher over these
# names); which of them compete with the deployment is its catalog's business
# (``processing/tagging/competitors.yaml``), scored on a hand-labelled set instead.
SAMPLE_PRODUCTS: dict[str, list[str]] = {
    "Salesforce": ["Salesforce", "SFDC", "Sales Cloud"],
    "HubSpot": ["HubSpot", "Hub Spot"],
    "Gong": ["Gong", "Gong.io"],
    "Clari": ["Clari"],
    "Outreach": ["Outreach.io", "Outreach"],
    "Chorus": ["Chorus", "Chorus.ai", "ZoomInfo Chorus"],
    "Pipedrive": ["Pipedrive"],
    "Zoho": ["Zoho CRM", "Zoho"],
}

# Aliases that are also common English words: never lowercased, never used as filler.
ENGLISH_WORD_ALIASES = frozenset({"Outreach", "Chorus", "Gong"})

_ALIAS_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    (canonical, alias, re.compile(rf"(?<!\w){re.escape(alias)}(?!\w)", re.IGNORECASE))
    for canonical, aliases in SAMPLE_PRODUCTS.items()
    for alias in aliases
]


# (canonical, alias) for every alias in the catalog.
ALIASES: list[tuple[str, str]] = [(canonical, alias) for canonical, alias, _ in _ALIAS_PATTERNS]


def scan_competitors(text: str) -> set[str]:
    """Canonical competitors named in ``text``: case-insensitive, on word boundaries, so
    possessives count and "salesforcey" does not."""
    return {canonical for canonical, _, pattern in _ALIAS_PATTERNS if pattern.search(text)}


def scan_talking_points(text: str) -> set[str]:
    """Talking points whose phrase occurs in ``text`` even as a bare substring: the
    strictest reading, so text free of them is free under any matcher."""
    low = text.lower()
    return {
        point
        for point, phrases in DEFAULT_TALKING_POINTS.items()
        if any(phrase in low for phrase in phrases)
    }


def is_clean(text: str) -> bool:
    """No competitor alias (even as a substring) and no talking-point phrase: safe for
    names and filler anywhere."""
    low = text.lower()
    if any(alias.lower() in low for _, alias, _ in _ALIAS_PATTERNS):
        return False
    return not scan_talking_points(text)


@dataclass(frozen=True)
class Mention:
    canonical: str
    alias: str  # the catalog alias
    surface: str  # exactly what the text says: maybe lowercased, maybe possessive


@dataclass(frozen=True)
class Frag:
    """A sentence and what it is known to contain."""

    text: str
    mentions: tuple[Mention, ...] = ()
    points: tuple[str, ...] = ()


@dataclass
class Script:
    """Turns under construction: (speaker id, fragments)."""

    turns: list[tuple[str, list[Frag]]] = field(default_factory=list)

    def say(self, speaker: str, *frags: Frag) -> None:
        self.turns.append((speaker, list(frags)))


def locate(text: str, mentions: tuple[Mention, ...], base: int = 0) -> list[tuple[int, int]]:
    """[start, end) of each mention's surface in ``text`` (plus ``base``), in order."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in mentions:
        found = re.compile(rf"(?<!\w){re.escape(m.surface)}(?!\w)").search(text, pos)
        if found is None:
            raise AssertionError(f"{m.surface!r} not in {text!r}")
        spans.append((base + found.start(), base + found.end()))
        pos = found.end()
    return spans


def pick_alias(rng: random.Random, canonical: str) -> str:
    aliases = SAMPLE_PRODUCTS[canonical]
    if len(aliases) == 1 or rng.random() < 0.55:
        return aliases[0]
    return rng.choice(aliases[1:])


def surface_of(rng: random.Random, alias: str, possessive: bool) -> str:
    text = alias
    # People type brand names in lower case ("hubspot"); brands that are English words
    # stay capitalized so the text never reads as the common word.
    if not any(word in alias for word in ENGLISH_WORD_ALIASES):
        roll = rng.random()
        if roll < 0.2:
            text = alias.lower()
        elif roll < 0.24 and " " not in alias:
            text = alias.upper()
    return text + "'s" if possessive else text


def mention(rng: random.Random, canonical: str, possessive: bool = False) -> Mention:
    alias = pick_alias(rng, canonical)
    return Mention(canonical, alias, surface_of(rng, alias, possessive))


CRM_COMPETITORS = frozenset({"Salesforce", "HubSpot", "Pipedrive", "Zoho"})


def fits(template: str, canonicals: list[str]) -> bool:
    """Whether a mention template makes sense for these competitors: only a CRM can be
    "our CRM", and the pair template wants a CRM and a call recorder."""
    if "{c2}" in template and "recording calls" in template:
        return canonicals[0] in CRM_COMPETITORS and canonicals[1] not in CRM_COMPETITORS
    if "CRM" in template or "system of record" in template:
        return canonicals[0] in CRM_COMPETITORS
    return True


def choose(rng: random.Random, bank: list[str], canonicals: list[str]) -> str:
    return rng.choice([t for t in bank if fits(t, canonicals)])


def fill(template: str, ctx: dict[str, str], mentions: tuple[Mention, ...] = ()) -> str:
    """``{c}`` / ``{c2}`` take the mentions' surfaces; other fields come from ``ctx``."""
    values = dict(ctx)
    for i, m in enumerate(mentions):
        values["c" if i == 0 else f"c{i + 1}"] = m.surface
    return template.format(**values)


# ---------------------------------------------------------------------------------------
# Sales-call banks. Placeholders: {p_first} prospect, {r_first} rep, {company}, {n}, {m},
# {weekday}, {pct}. None of the text may contain an alias or a talking-point phrase.

REP_OPENERS = [
    "Thanks for making the time today, {p_first}.",
    "Hi {p_first}, good to see you again.",
    "Appreciate you joining, I know it's a busy week.",
    "Thanks everyone for hopping on.",
    "Hey {p_first}, can you hear me okay?",
    "Good morning, thanks for squeezing this in before the end of the quarter.",
]

PROSPECT_SMALLTALK = [
    "Happy to be here, it's been a hectic quarter.",
    "Good, thanks. We just wrapped up our planning week.",
    "Doing well. Glad we could find a slot.",
    "Busy, but in a good way.",
    "Loud and clear. Sorry, I'm running a couple of minutes behind today.",
    "All good here. The team is heads down on the quarter close.",
]

REP_AGENDAS = [
    "I'd like to spend the first part understanding how your team works today, then show "
    "you a few things, and leave time for questions at the end.",
    "My goal for today is to learn where the friction is in your sales process and see "
    "whether we're a fit.",
    "Last time you asked about forecasting, so I want to start there.",
    "I'd love to hear what changed since we last spoke, then we can go deeper on the "
    "pieces that matter most to you.",
    "Quick agenda: your current process, a short demo, and then we figure out next steps together.",
]

DISCOVERY_QUESTIONS = [
    "How does your team run pipeline reviews today?",
    "Walk me through what happens after a first meeting gets booked.",
    "How many reps are on the team right now, and how fast are you hiring?",
    "Where do deals tend to stall for you?",
    "Who else would be involved in a decision like this?",
    "How do you forecast the quarter today?",
    "What does a great outcome look like six months from now?",
    "How do your managers coach reps today?",
    "What made you start looking at this now?",
    "How do you find out that a deal is slipping?",
    "What happens to the notes from a customer meeting once it ends?",
    "How much time do reps spend updating the CRM each week?",
]

DISCOVERY_ANSWERS = [
    "We have about {n} reps across two regions, and we're hiring another {m} this year.",
    "Honestly most of our forecasting still happens in spreadsheets.",
    "Our managers listen to maybe one call per rep per month, so coaching is pretty thin.",
    "Deals usually stall after the technical evaluation, when legal and procurement get involved.",
    "The board wants a more accurate forecast, and right now we miss it by {pct} percent or more.",
    "Our reps spend hours every week updating fields nobody trusts.",
    "We lost two big renewals last quarter without seeing it coming.",
    "The VP of Sales, our CFO and someone from IT would all weigh in.",
    "We want every manager to see which deals are at risk before the weekly meeting.",
    "Most of the context lives in people's heads, and when a rep leaves it leaves with them.",
    "We tried a homegrown dashboard, but nobody kept it up to date.",
    "The weekly forecast call takes two hours and we still argue about the numbers.",
    "New hires take about {m} months to ramp, which is way too long for us.",
    "Our biggest problem is that we only hear the bad news at the very end of the quarter.",
]

# After a prospect's answer.
REP_ACKS = [
    "Got it, that's really helpful context.",
    "Understood.",
    "Makes sense, a lot of teams tell us the same thing.",
    "Thanks for being candid about that.",
    "Okay, that's useful.",
]
# Before answering a prospect's question or concern.
REP_LEADINS = [
    "That's a great question.",
    "Totally fair.",
    "Good point, let me address that.",
    "Fair question.",
]

DEMO_LINES = [
    "Let me share my screen and show you the deal board.",
    "Every call gets transcribed and summarized, and the key moments are tagged automatically.",
    "Managers get a weekly digest of the deals that changed the most.",
    "The forecast view rolls up each rep's commit and flags deals with no recent activity.",
    "You can search every conversation for a topic and jump straight to the moment it came up.",
    "Here you can see the talk ratio and the questions each rep asked.",
    "This panel shows which risks came up on the call, and who is on point to address them.",
    "Deal summaries are written for you right after the meeting, so nobody types notes.",
    "Alerts go to the deal owner when a champion goes quiet for more than a week.",
]

REACTIONS = {
    "positive": [
        "That's exactly the kind of visibility we're missing.",
        "I like that, the team would actually use this.",
        "This looks a lot cleaner than what we have.",
        "That would save my managers hours every week.",
        "Wow, okay, that's impressive.",
        "That is great. Our CRO is going to love the forecast view.",
    ],
    "neutral": [
        "Okay, that makes sense.",
        "Got it. Let me think about how that maps to our process.",
        "Interesting. Can you show that again?",
        "Sure, that could work.",
        "Right, okay.",
        "Hmm, I'd have to see it with our own data.",
    ],
    "negative": [
        "I'm not sure the team has the bandwidth for another tool right now.",
        "Honestly, that's not a priority for us this quarter.",
        "I'm worried the reps just won't adopt it.",
        "That feels like a lot of change for the team.",
        "I'm skeptical, we've been burned by tools like this before.",
        "That's frustrating, it's not what we were told last time.",
    ],
}

# Objections in the prospect's words: no talking-point phrase, so only the rep's reply
# carries the label.
OBJECTIONS = {
    "price": [
        "To be honest, the price is higher than what we budgeted.",
        "Our CFO is going to push back on the per-seat cost.",
        "We need to understand the total cost before this goes to procurement.",
        "That number is a lot for a team our size.",
    ],
    "security": [
        "Our security team will have questions about where call recordings are stored.",
        "Legal will want to review how long you keep customer data.",
        "We're in a regulated industry, so the audit trail matters a lot to us.",
        "Who at your company can access our recordings?",
    ],
    "integration": [
        "How would this connect to our data warehouse?",
        "Our ops team is small, so anything that needs custom engineering is a hard sell.",
        "We'd need the call notes to show up in the CRM without reps copying them over.",
        "How long would it take to get our historical data in?",
    ],
}

# Which talking points answer which objection.
OBJECTION_POINTS = {
    "price": ["pricing_flexibility", "roi"],
    "security": ["security"],
    "integration": ["integrations"],
}

# Prospect prompts for talking points that answer no objection.
POINT_PROMPTS = {
    "roi": ["How would we justify this to finance?", "What kind of results do teams see?"],
    "time_to_value": [
        "How long until the team actually gets something out of it?",
        "What does the first month look like?",
    ],
    "customer_proof": [
        "Who else in our space is using this?",
        "Has anyone our size rolled this out?",
    ],
    "security": ["What do you have on the compliance side?"],
    "integrations": ["Does it work with the rest of our stack?"],
    "pricing_flexibility": ["Is there any room on the commercial side?"],
}

UNANSWERED_REPLIES = [
    "Let me take that back to my team and see what we can do.",
    "Fair, I'll get you a proper answer in writing.",
    "I hear you. Let me loop in the right person on our side.",
]

# One point per sentence: each contains a phrase of its own talking point and no other's.
TALKING_POINT_LINES = {
    "roi": [
        "Most teams see a return on investment inside two quarters.",
        "The payback period for a team your size is usually under six months.",
        "We can build an ROI model together with your own numbers.",
        "When we ran the ROI math with a similar team it came out around {m}x in year one.",
    ],
    "security": [
        "We're SOC 2 Type II certified and I can send the report today.",
        "SSO through Okta or Azure AD is included on every plan.",
        "We do encryption at rest and in transit, with keys rotated every quarter.",
        "Single sign-on is standard, and admins control exactly who sees which recordings.",
        "Our SOC2 report covers the recording storage end to end.",
    ],
    "integrations": [
        "We have a native connector for your data warehouse, so nothing custom is needed.",
        "API access is included, so your ops team can pull anything they want.",
        "The integration with your CRM writes the call notes back automatically.",
        "It integrates with your calendar and email, so the data flows in on day one.",
    ],
    "pricing_flexibility": [
        "We offer an annual discount if you sign for twelve months.",
        "There's a volume discount once you go above {n} seats.",
        "We have flexible pricing for teams that are still growing.",
    ],
    "time_to_value": [
        "Onboarding usually takes about two weeks.",
        "Most customers go live within thirty days.",
        "Our implementation timeline is typically three weeks, with one kickoff call.",
        "Time to value is the thing we obsess over, most managers get a win in week one.",
    ],
    "customer_proof": [
        "I can share a case study from a company in your space.",
        "We can set up a call with a reference customer who had the same problem.",
        "We work with a lot of customers like you, and the pattern is very similar.",
    ],
}

PROSPECT_COMPETITOR_LINES = [
    "We're using {c} today, and the reps don't love it.",
    "We looked at {c} last year but it felt heavy for us.",
    "Our CRM is {c}, so that would have to keep working.",
    "Procurement asked us to get a quote from {c} as well.",
    "Part of the team is pushing for {c}.",
    "How is this different from {c}?",
    "We had a demo of {c} on Tuesday.",
    "To be upfront, {c} quoted us a lower number.",
]
PROSPECT_COMPETITOR_POSSESSIVE = [
    "{c} forecasting module came up in our last leadership meeting.",
    "We've heard good things about {c} dashboards.",
    "Honestly {c} renewal is what started this whole conversation.",
]
REP_COMPETITOR_LINES = [
    "A lot of our customers moved over from {c}.",
    "We sit alongside {c} and pull the data in nightly.",
    "Compared with {c}, we focus much more on coaching.",
    "We run head to head with {c} fairly often, and I'm happy to talk about where each fits.",
]
REP_COMPETITOR_POSSESSIVE = [
    "{c} strength is the system of record itself; we're the layer on top of it.",
    "I'd push back a little on {c} numbers there.",
]
PAIR_COMPETITOR_LINES = [
    "Right now we have {c} for the CRM and {c2} for recording calls.",
    "We shortlisted {c} and {c2} before we found you.",
    "Some of the team uses {c}, some uses {c2}, and nothing talks to each other.",
]
REP_COMPETITOR_FOLLOWUPS = [
    "Totally fair, a lot of teams evaluate both.",
    "Good to know, thanks for telling me.",
    "That's helpful, I'll make sure the demo speaks to that.",
]

# Near misses: an alias as a substring, never on word boundaries. (word, line, reply):
# the word is what the tests look for.
DISTRACTORS = [
    ("salesforcey", "The old setup felt a bit salesforcey, with clicks everywhere.",
     "Ha, we hear that a lot."),
    ("gonging", "We stopped gonging the office bell for every closed deal, it got old.",
     "Ha, fair enough."),
    ("outreaching", "Our SDRs spend most of the morning outreaching to cold accounts.",
     "That's a lot of manual work."),
    ("clarify", "Can you clarify how the seat tiers work?",
     "Sure, there are three tiers and the difference is mostly in the analytics."),
    ("clarity", "We want more clarity on which deals will actually close.",
     "That's exactly the problem we're built for."),
    ("hubspotting", "Someone on the team calls manual list building hubspotting, which is "
     "not a compliment.", "Ha, I'm stealing that."),
    ("pipedriven", "Our VP likes to say we are pipedriven, not pipeline driven.",
     "I like that."),
]  # fmt: skip

NEXT_STEPS_REP = [
    "For next steps, I'll send over a recap and the documents you asked for today.",
    "Let's get thirty minutes with your CFO next week to walk through the numbers.",
    "I'll set up a technical session with our solutions engineer.",
    "Can we pencil in a follow-up for {weekday}?",
    "I'll draft a mutual action plan and share it by Friday.",
    "I'll send the order form over so legal can start their review.",
]
NEXT_STEPS_PROSPECT = [
    "Send me the recap and I'll loop in our IT lead.",
    "{weekday} works for me.",
    "Let me check with my boss and get back to you by end of week.",
    "Sounds good. I'll share this with the wider team.",
    "Great, talk soon.",
]

# Long-form sentences for monologues: a prospect describing their world, a rep walking
# through how customers roll things out. Kept free of aliases and phrases.
LONG_FORM = [
    "So the way our team is set up today, we have account executives split by region, and "
    "each region has its own manager who runs a pipeline meeting on Monday mornings.",
    "Those meetings were supposed to be thirty minutes, but they regularly run to ninety "
    "because nobody agrees on what stage a deal is really in.",
    "The reps update the opportunity fields the night before, usually from memory, and by "
    "the time leadership looks at the roll-up the numbers are already stale.",
    "We tried to fix that last year by adding mandatory fields, and all that did was make "
    "the reps resent the system and type whatever gets them past the validation rule.",
    "On the coaching side, our managers are great sellers but they have eight or nine "
    "direct reports each and they simply don't have the hours to listen to recordings.",
    "What usually happens is a manager joins the big calls live, takes notes in a notebook, "
    "and the feedback lands a week later when nobody remembers the details.",
    "Finance, meanwhile, builds its own forecast in a spreadsheet, applies a haircut to "
    "every rep's commit, and then we spend the last week of the quarter reconciling the two.",
    "The part that hurts the most is renewals, because the account team often hears about "
    "a problem only when the customer sends the cancellation notice.",
    "We have a customer success team of about a dozen people, and they log their meetings "
    "in a different tool, so sales never sees the warning signs.",
    "When a rep leaves, and we've had more turnover than I'd like, all the context about "
    "their accounts basically walks out the door with them.",
    "Our new hires shadow calls for the first month, which is useful, but it depends "
    "completely on which senior rep they happen to sit next to.",
    "Leadership has asked for a single view of the pipeline that everyone trusts, from the "
    "board deck down to the individual rep's weekly plan.",
    "We also have a partner channel that brings in maybe a fifth of our new business, and "
    "those deals are almost invisible until the paperwork shows up.",
    "From a process standpoint, we use a fairly standard qualification framework, but "
    "adoption is uneven and the fields are filled in after the fact.",
    "If I'm honest, a lot of what we call forecasting is really gut feel dressed up in a "
    "spreadsheet with conditional formatting.",
    "The teams that do this well tend to start with one region, prove it out for a quarter, "
    "and only then expand to the rest of the organization.",
    "In the first few weeks the focus is on getting every meeting recorded and summarized, "
    "so managers stop asking reps to write status updates.",
    "After that, the forecast view replaces the spreadsheet, and the Monday meeting turns "
    "into a conversation about the handful of deals that actually moved.",
    "Coaching comes next, because once every conversation is searchable a manager can find "
    "the three moments that matter in a call without listening to the whole hour.",
    "Customer success usually joins in the second quarter, and that's when the renewal "
    "signals start to show up next to the sales activity.",
    "The biggest change people notice is cultural: reps stop seeing the system as "
    "surveillance and start using it to prepare for their own meetings.",
    "We also recommend picking one metric up front, whether that's forecast accuracy, ramp "
    "time, or win rate, and reviewing it together every month.",
    "None of that requires a big project on your side; most of the setup is permissions "
    "and deciding which teams go first.",
    "Where we've seen rollouts struggle is when leadership buys the tool but never shows up "
    "in it, so the reps conclude it doesn't matter.",
    "The executives who get the most out of it open the deal board before every forecast "
    "call and ask questions based on what customers actually said.",
    "We're also thinking about next year, because the plan is to double the mid-market team "
    "and open an office in Europe, and none of the current process scales to that.",
    "Our head of revenue operations has been rebuilding the territory model, so whatever we "
    "pick has to handle accounts moving between reps without losing history.",
    "There's some fatigue on the team around new tools, so whatever we bring in has to feel "
    "lighter than what it replaces, not heavier.",
]

CALL_TITLES = [
    "Discovery call",
    "Platform demo",
    "Technical deep dive",
    "Security review",
    "Pricing discussion",
    "Next steps",
    "Executive alignment",
]

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
