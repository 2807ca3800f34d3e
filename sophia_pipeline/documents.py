"""The common document schema every source normalizes into."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from pydantic import BaseModel, Field

# Every source's name, as documents and index rows carry it. Readers that may not import
# the source registry (serving) validate against this; a test keeps it equal to the
# registry's names.
SourceName = Literal["gong", "hubspot", "slack", "linear", "github", "costar", "apollo"]
SOURCE_NAMES: tuple[str, ...] = get_args(SourceName)


class DocumentKind(StrEnum):
    """Picks the chunking strategy."""

    CONVERSATION = "conversation"  # Gong calls, Slack threads: speaker turns
    DOCUMENT = "document"  # Markdown / text / HTML-stripped pages, Linear bodies, CoStar notes
    CODE = "code"  # GitHub source
    CRM = "crm"  # HubSpot, Apollo entities


# CRM deal stage -> the outcome category of the calls and deals at that stage. Part of the
# contract between the CRM documents sources write (a deal's rendering names its outcome)
# and the outcome tagger in processing, so it lives beside the schema both import.
DEAL_STAGE_OUTCOMES: dict[str, str] = {
    "appointmentscheduled": "early_stage",
    "qualifiedtobuy": "qualified",
    "presentationscheduled": "evaluation",
    "decisionmakerboughtin": "evaluation",
    "contractsent": "negotiation",
    "closedwon": "won",
    "closedlost": "lost",
}


class Turn(BaseModel):
    speaker: str
    role: str | None = None  # "rep" | "prospect" | ...
    text: str
    start_s: float | None = None


class Document(BaseModel):
    doc_id: str  # source:entity_type:source_id
    source: str
    entity_type: str
    source_id: str
    kind: DocumentKind
    title: str | None = None
    text: str = ""  # the source text chunk offsets point into
    turns: list[Turn] = Field(default_factory=list)
    author: str | None = None
    account_id: str | None = None
    deal_id: str | None = None
    occurred_at: datetime
    updated_at: datetime | None = None
    deleted: bool = False
    attributes: dict[str, object] = Field(default_factory=dict)  # source-specific extras

    @staticmethod
    def make_id(source: str, entity_type: str, source_id: str) -> str:
        return f"{source}:{entity_type}:{source_id}"


def render_turns(turns: list[Turn]) -> tuple[str, list[tuple[int, int, int]]]:
    """The transcript text ("Speaker: words" per line) and, for each turn, the
    (text_start, text_end, line_start) offsets of its words inside it."""
    parts: list[str] = []
    offsets: list[tuple[int, int, int]] = []
    pos = 0
    for t in turns:
        label = f"{t.speaker}: "
        line_start = pos
        text_start = pos + len(label)
        parts.append(label + t.text + "\n")
        offsets.append((text_start, text_start + len(t.text), line_start))
        pos += len(label) + len(t.text) + 1
    return "".join(parts), offsets
