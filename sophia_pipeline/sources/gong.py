"""Gong calls: landing record schema and normalization.

Landing file: ``landing/gong/calls/<YYYY-MM-DD>.jsonl`` (one call per line, the call's
start date in UTC names the file). In prod the same records come from Airbyte's Gong
stream or the Gong API (``/v2/calls/extensive``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from .documents import Document, DocumentKind, Turn, render_turns

SOURCE = "gong"
ENTITY = "call"


class GongParticipant(BaseModel):
    speaker_id: str
    name: str
    role: str  # "rep" | "prospect"
    email: str | None = None
    company: str | None = None


class GongTurn(BaseModel):
    speaker_id: str
    start_s: float = 0.0
    text: str


class GongCall(BaseModel):
    call_id: str = Field(min_length=1)
    title: str
    started: AwareDatetime
    duration_s: int = Field(ge=0)
    account_id: str | None = None
    deal_id: str | None = None
    rep_email: str | None = None
    participants: list[GongParticipant]
    turns: list[GongTurn]
    updated_at: datetime | None = None


def normalize(call: GongCall) -> Document:
    people = {p.speaker_id: p for p in call.participants}
    turns = []
    for t in call.turns:
        p = people.get(t.speaker_id)
        turns.append(
            Turn(
                speaker=p.name if p else t.speaker_id,
                role=p.role if p else None,
                text=t.text,
                start_s=t.start_s,
            )
        )
    text, _ = render_turns(turns)
    return Document(
        doc_id=Document.make_id(SOURCE, ENTITY, call.call_id),
        source=SOURCE,
        entity_type=ENTITY,
        source_id=call.call_id,
        kind=DocumentKind.CONVERSATION,
        title=call.title,
        text=text,
        turns=turns,
        author=call.rep_email,
        account_id=call.account_id,
        deal_id=call.deal_id,
        occurred_at=call.started,
        updated_at=call.updated_at or call.started,
        attributes={"duration_s": call.duration_s},
    )
