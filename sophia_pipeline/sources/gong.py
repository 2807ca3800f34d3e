"""Gong calls: landing record schema and normalization.

Landing file: ``landing/gong/calls/<YYYY-MM-DD>.jsonl`` (one call per line, the call's
start date in UTC names the file). In prod the same records come from Airbyte's Gong
stream or the Gong API (``/v2/calls/extensive``), mapped onto the landing shape by
:func:`gong_call_from_api`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from sophia_pipeline.documents import Document, DocumentKind, Turn, render_turns

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
    # The customer's company as the participants name it: the account, in words, for the
    # context header every chunk of the call carries (account_id is only an id).
    account_name = next(
        (p.company for p in call.participants if p.role != "rep" and p.company), None
    )
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
        attributes={
            "duration_s": call.duration_s,
            **({"account_name": account_name} if account_name else {}),
        },
    )


# --- API and Airbyte shape -> the landing shape (pure, idempotent) -------------------------


def gong_call_from_api(call: dict[str, Any]) -> dict[str, Any]:
    """A ``/v2/calls/extensive`` call (with ``transcript`` attached, as
    ``GongClient.iter_calls`` yields it, or without, as Airbyte's ``extensiveCalls``
    stream has it) in the landing shape. A landing-shaped call passes unchanged."""
    if "metaData" not in call:
        return call
    meta = call["metaData"]
    parties = call.get("parties") or []
    participants = []
    for p in parties:
        speaker = p.get("speakerId") or p.get("id")
        if not speaker:
            continue
        participants.append(
            {
                "speaker_id": str(speaker),
                "name": p.get("name") or p.get("emailAddress") or str(speaker),
                # Gong marks its own users Internal; everyone else is the customer side.
                "role": "rep" if p.get("affiliation") == "Internal" else "prospect",
                "email": p.get("emailAddress"),
                "company": None,
            }
        )
    turns = []
    for segment in call.get("transcript") or []:
        sentences = segment.get("sentences") or []
        text = " ".join(str(s.get("text", "")).strip() for s in sentences).strip()
        if not text:
            continue
        turns.append(
            {
                "speaker_id": str(segment.get("speakerId")),
                "start_s": float(sentences[0].get("start", 0)) / 1000.0,  # Gong sends ms
                "text": text,
            }
        )
    primary = meta.get("primaryUserId")
    rep_email = next(
        (p.get("emailAddress") for p in parties if primary and p.get("userId") == primary), None
    )
    crm = _gong_crm_ids(call.get("context") or [])
    return {
        "call_id": str(meta["id"]),
        "title": meta.get("title") or f"Gong call {meta['id']}",
        "started": meta["started"],
        "duration_s": int(meta.get("duration") or 0),
        "account_id": crm.get("account"),
        "deal_id": crm.get("deal"),
        "rep_email": rep_email,
        "participants": participants,
        "turns": turns,
    }


def _gong_crm_ids(context: list[dict[str, Any]]) -> dict[str, str]:
    """The HubSpot company and deal a call is linked to, from Gong's CRM context."""
    kinds = {"company": "account", "account": "account", "deal": "deal", "opportunity": "deal"}
    found: dict[str, str] = {}
    for system in context:
        for obj in system.get("objects") or []:
            kind = kinds.get(str(obj.get("objectType", "")).lower())
            if kind and obj.get("objectId") and kind not in found:
                found[kind] = str(obj["objectId"])
    return found
