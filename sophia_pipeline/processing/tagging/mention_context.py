"""Why a name found in text is not a competitor mention: code, or integration talk.

A product name inside code (a backtick span, a fenced block, a shell command, a flag's
value, a path, a URL, a ``key=value`` setting) names a system, not a rival; so does a
name that integration or configuration words attach to ("Add Pipedrive connector",
"sync with HubSpot", "the Salesforce API key"). ``MentionContext`` says which of these a
hit falls in, so the tagger can leave it out and a bench can say why.

Integration words attach to one name only: a *noun* cue ("connector", "sync",
"webhook", "API key") to the product named just before it, a *linking* cue ("sync
with", "import from", "connector for") to the product just after it, each within a few
words and the same clause. So "Clari has a better Salesforce integration than you"
still counts Clari: the cue belongs to Salesforce, the nearer name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# --- code ------------------------------------------------------------------------------

_FENCED = re.compile(r"(```|~~~).*?(?:\1|\Z)", re.DOTALL)
_INLINE = re.compile(r"`[^`\n]+`")
# A flag and the value it takes: "--source hubspot", "--crm=Salesforce", "-s pipedrive".
_FLAG_BEFORE = re.compile(r"(?:^|\s)--?[A-Za-z][\w-]*(?:=|\s+)[\"']?$")
# "key=value" and "crm_provider: hubspot" / "\"crm\": \"hubspot\"": configuration syntax.
_SETTING_BEFORE = re.compile(
    r"(?:[\w.-]+=[\"']?|[a-z][a-z0-9]*[_.][\w.]*\s*:\s*[\"']?|\"[\w.-]+\"\s*:\s*\")$"
)
# A shell prompt or an interpreter prompt opens a command line.
_PROMPT = re.compile(r"^\s*(?:\$|#|>>>|PS>|C:\\>)\s")
# A command line without a prompt: a lowercase program (with a dash, dot or slash in it,
# as CLIs are named) followed by arguments that include a flag.
_COMMAND = re.compile(r"(?:^|\s)(?:[a-z][\w]*[-./][\w./-]*|[a-z]+)(?:\s+[^\s]+)*?\s--?[A-Za-z]")
_PATH_OR_URL_CHARS = ("://", "/", "\\", "@", "=")
_FILE_SUFFIX = re.compile(r"^\.(?!com\b)[a-z]{1,5}\b")


def code_spans(text: str) -> list[tuple[int, int]]:
    """Fenced blocks first (an inline span cannot start inside one), then inline spans."""
    spans = [(m.start(), m.end()) for m in _FENCED.finditer(text)]
    for m in _INLINE.finditer(text):
        if not any(s <= m.start() < e for s, e in spans):
            spans.append((m.start(), m.end()))
    return sorted(spans)


def _line(text: str, start: int, end: int) -> tuple[int, int]:
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", end)
    return ls, len(text) if le < 0 else le


def _token(text: str, start: int, end: int) -> str:
    """The whitespace-delimited token around ``[start, end)``."""
    s = start
    while s > 0 and not text[s - 1].isspace():
        s -= 1
    e = end
    while e < len(text) and not text[e].isspace():
        e += 1
    return text[s:e]


def code_reason(text: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> str | None:
    """ "code" when the hit is inside code or a code-like token, else None."""
    if any(s <= start < e for s, e in spans):
        return "code span"
    ls, le = _line(text, start, end)
    before = text[ls:start]
    if _FLAG_BEFORE.search(before):
        return "flag value"
    if _SETTING_BEFORE.search(before):
        return "setting"
    if _PROMPT.match(text[ls:le]):
        return "command line"
    if _COMMAND.search(text[ls:le]) and "--" in text[ls:le] and _looks_like_command(text[ls:le]):
        return "command line"
    token = _token(text, start, end).strip("()[]{}<>,;\"'")
    if any(c in token for c in _PATH_OR_URL_CHARS):
        return "path or URL"
    if _FILE_SUFFIX.match(text[end:]):
        return "file name"
    return None


def _looks_like_command(line: str) -> bool:
    """A line most of whose words are lowercase identifiers and flags, with a ``--flag``:
    ``sophia-pipeline replay --source hubspot --day 2024-04-02``, not a sentence that
    happens to hold " -- "."""
    words = line.split()
    flags = [w for w in words if re.match(r"^--?[A-Za-z][\w-]*(=.*)?$", w)]
    if not flags:
        return False
    codeish = [w for w in words if re.match(r"^[-a-z0-9_./:=\"']+$", w)]
    return len(codeish) * 3 >= len(words) * 2


# --- integration and configuration talk ------------------------------------------------

# Cues that attach to the product named right before them ("Pipedrive connector").
NOUN_CUES: tuple[str, ...] = (
    "connector", "connectors", "integration", "integrations", "sync", "syncs", "sync job",
    "sync jobs", "two-way sync", "webhook", "webhooks", "api", "apis", "api key", "api keys",
    "api token", "api tokens", "oauth", "token", "tokens", "credentials", "field mapping",
    "field mappings", "custom field", "custom fields", "custom object", "custom objects",
    "sandbox", "plugin", "plug-in", "marketplace app", "adapter", "endpoint", "endpoints",
    "scopes", "rate limit", "rate limits", "import", "importer", "export", "exporter",
    "data source", "config", "configuration",
)  # fmt: skip
# Cues that attach to the product named right after them ("sync with HubSpot").
LINK_CUES: tuple[str, ...] = (
    "integrate with", "integrates with", "integrated with", "integrating with",
    "integration with", "integrations with", "integration for", "integrations for",
    "integrate", "connector for", "connectors for", "connect to", "connects to",
    "connected to", "connecting to", "connection to", "connect with", "sync with",
    "syncs with", "synced with", "syncing with", "sync to", "syncs to", "synced to",
    "sync from", "syncs from", "synced from", "sync", "syncing", "import from",
    "imports from", "imported from", "importing from", "import", "export to", "exports to",
    "exported to", "exporting to", "export", "push to", "pushes to", "pushed to",
    "pushing to", "write back to", "writes back to", "writing back to", "pull from",
    "pulls from", "pulled from", "pulling from", "webhook from", "webhooks from",
    "webhook for", "plugin for", "api for", "mapping for", "mappings for", "field in",
    "fields in", "log in to", "login to", "sign in to", "importing", "imported",
    "exporting", "exported", "synced", "integrating",
)  # fmt: skip
# How many words may sit between a cue and the name it attaches to.
NOUN_REACH = 1
LINK_REACH = 2
_CLAUSE_END = re.compile(
    r"[.!?;\n]|,\s+(?:but|and|while|whereas|though)\b|\s(?:but|than|vs\.?|versus)\s"
)
_WORD_RE = re.compile(r"[\w'’.-]+")


@dataclass(frozen=True)
class NameSpan:
    start: int
    end: int


def _words(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0).lower().strip(".'’")) for m in _WORD_RE.finditer(text)]


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    cs = 0
    for m in _CLAUSE_END.finditer(text, 0, start):
        cs = m.end()
    close = _CLAUSE_END.search(text, end)
    return cs, (close.start() if close else len(text))


def integration_reason(
    text: str, start: int, end: int, names: Sequence[NameSpan], cue_words: _Cues
) -> str | None:
    """ "integration" when an integration cue attaches to this hit (see module doc)."""
    cs, ce = _clause(text, start, end)
    after = _words(text[end:ce])
    before = _words(text[cs:start])
    # The names (other hits) inside the clause, for "the nearest name owns the cue".
    other = [n for n in names if cs <= n.start < ce and not (n.start == start and n.end == end)]
    # Noun cue after the name: "Pipedrive connector", "HubSpot API key", "Salesforce's sync".
    for k in range(min(len(after), NOUN_REACH + 1)):
        phrase = cue_words.noun_at(after, k)
        if phrase is not None and not _name_between(other, end, end + after[k][0]):
            return f"integration: {phrase}"
    # Linking cue before the name: "sync with HubSpot", "connector for Pipedrive".
    for k in range(len(before)):
        phrase = cue_words.link_ending_at(before, k)
        if phrase is None:
            continue
        gap = len(before) - 1 - k
        if gap <= LINK_REACH and not _name_between(other, cs + before[k][1], start):
            return f"integration: {phrase}"
    return None


def _name_between(names: Sequence[NameSpan], a: int, b: int) -> bool:
    return any(a <= n.start < b for n in names)


class _Cues:
    """Cue phrases as word tuples, matched against a clause's words."""

    def __init__(self, noun: Sequence[str], link: Sequence[str]) -> None:
        self.noun = sorted({tuple(c.split()) for c in noun}, key=len, reverse=True)
        self.link = sorted({tuple(c.split()) for c in link}, key=len, reverse=True)

    def noun_at(self, words: list[tuple[int, int, str]], k: int) -> str | None:
        for cue in self.noun:
            got = tuple(w for _, _, w in words[k : k + len(cue)])
            if got == cue:
                return " ".join(cue)
        return None

    def link_ending_at(self, words: list[tuple[int, int, str]], k: int) -> str | None:
        for cue in self.link:
            if k + 1 - len(cue) < 0:
                continue
            got = tuple(w for _, _, w in words[k + 1 - len(cue) : k + 1])
            if got == cue:
                return " ".join(cue)
        return None


DEFAULT_CUES = _Cues(NOUN_CUES, LINK_CUES)

# --- homonyms --------------------------------------------------------------------------

# After a sentence-initial homonym these words read as the common noun: "Outreach to the
# CFO went well", "Chorus of complaints".
_COMMON_NOUN_NEXT = frozenset({"to", "for", "of", "efforts", "effort", "campaign", "campaigns"})


def homonym_reason(
    text: str, start: int, end: int, alias: str, homonyms: frozenset[str]
) -> str | None:
    """ "homonym" when an alias that is also an English word is not written as the brand."""
    if alias not in homonyms:
        return None
    written = text[start:end]
    if not written.startswith(alias) and written != alias:
        return "homonym: not written as the brand"
    rest = _words(text[end : end + 40])
    before = text[:start].rstrip()
    sentence_start = not before or before[-1] in ".!?:\n"
    if sentence_start and rest and rest[0][2] in _COMMON_NOUN_NEXT:
        return "homonym: common noun"
    return None
