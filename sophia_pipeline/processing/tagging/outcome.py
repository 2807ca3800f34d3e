"""A call's outcome category, from the stage of the CRM deal it is linked to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sophia_pipeline.documents import DEAL_STAGE_OUTCOMES

UNKNOWN = "unknown"

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_stage(stage: Any) -> str:
    """HubSpot's internal stage id from an id or a label: "Closed Won", "closed_won" and
    "closedwon" are all "closedwon"."""
    if stage is None:
        return ""
    return _SEPARATORS.sub("", str(stage)).lower()


def outcome_for_stage(stage: Any, outcomes: Mapping[str, str] = DEAL_STAGE_OUTCOMES) -> str:
    """The outcome category of a deal stage, ``"unknown"`` when there is no stage or the
    stage is not in ``outcomes`` (a custom pipeline's numeric stage id, say)."""
    key = normalize_stage(stage)
    if not key:
        return UNKNOWN
    table = {normalize_stage(k): v for k, v in outcomes.items()}
    return table.get(key, UNKNOWN)


def deal_stage(deal: Any) -> str | None:
    """The stage of a deal given as a HubSpot object (``properties.dealstage``), a flat
    mapping (``dealstage`` or ``stage``) or an object with such an attribute."""
    if deal is None:
        return None
    if isinstance(deal, Mapping):
        props = deal.get("properties")
        source: Mapping[str, Any] = props if isinstance(props, Mapping) else deal
        value = source.get("dealstage") or source.get("stage")
    else:
        value = getattr(deal, "dealstage", None) or getattr(deal, "stage", None)
    return str(value) if value not in (None, "") else None


def call_outcome(
    deal_id: str | None,
    deals: Mapping[str, Any],
    outcomes: Mapping[str, str] = DEAL_STAGE_OUTCOMES,
) -> str:
    """The outcome of a call linked to ``deal_id``: ``"unknown"`` when the call has no
    deal, or the deal is not in ``deals`` (id -> deal), or its stage is not mapped."""
    if not deal_id:
        return UNKNOWN
    return outcome_for_stage(deal_stage(deals.get(str(deal_id))), outcomes)
