"""Linear issues: landing record schema and normalization.

Landing file: ``landing/linear/issues/<YYYY-MM-DD>.jsonl``, one issue per line in the file
of the UTC day of its ``updatedAt`` (what an incremental sync by the ``updatedAt`` cursor
produces; an issue can appear in several files, the newest ``updatedAt`` wins). Records
have the GraphQL ``Issue`` shape: ``state {id, name, type}``, ``team {id, key, name}``,
``assignee`` / ``creator`` users or null, ``labels`` as ``[{id, name}]``, timestamps in
ISO-8601 UTC. In prod the same records come from Airbyte's Linear source or the GraphQL
API (:func:`linear_issue_from_api`).

The document's text is the title as a level-1 heading followed by the Markdown
description, so the heading-aware chunker sees the title as the root of every section.
An archived issue (``archivedAt`` set) normalizes with ``deleted=True``.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from sophia_pipeline.documents import Document, DocumentKind

SOURCE = "linear"
ENTITY = "issue"


class LinearState(BaseModel):
    id: str | None = None
    name: str
    type: str  # triage | backlog | unstarted | started | completed | canceled


class LinearTeam(BaseModel):
    id: str | None = None
    key: str
    name: str | None = None


class LinearUser(BaseModel):
    id: str
    name: str
    displayName: str | None = None
    email: str | None = None


class LinearLabel(BaseModel):
    id: str | None = None
    name: str


class LinearIssue(BaseModel):
    id: str = Field(min_length=1)
    identifier: str = Field(pattern=r"^[A-Z][A-Z0-9]*-\d+$")
    number: int | None = None
    title: str
    description: str | None = None
    priority: int | None = None
    priorityLabel: str | None = None
    estimate: float | None = None
    state: LinearState
    team: LinearTeam | None = None
    assignee: LinearUser | None = None
    creator: LinearUser | None = None
    labels: list[LinearLabel] = Field(default_factory=list)
    url: str | None = None
    createdAt: AwareDatetime
    updatedAt: AwareDatetime
    completedAt: AwareDatetime | None = None
    canceledAt: AwareDatetime | None = None
    archivedAt: AwareDatetime | None = None


def parse(raw: dict[str, Any]) -> LinearIssue:
    return LinearIssue.model_validate(raw)


def render_text(issue: LinearIssue) -> str:
    body = (issue.description or "").strip()
    return f"# {issue.title}\n\n{body}\n" if body else f"# {issue.title}\n"


def normalize(issue: LinearIssue) -> Document:
    return Document(
        # The uuid, not the identifier: moving an issue to another team renumbers it.
        doc_id=Document.make_id(SOURCE, ENTITY, issue.id),
        source=SOURCE,
        entity_type=ENTITY,
        source_id=issue.id,
        kind=DocumentKind.DOCUMENT,
        title=f"{issue.identifier}: {issue.title}",
        text=render_text(issue),
        author=issue.creator.email if issue.creator else None,
        occurred_at=issue.createdAt,
        updated_at=issue.updatedAt,
        deleted=issue.archivedAt is not None,
        attributes={
            "identifier": issue.identifier,
            "state": issue.state.name,
            "state_type": issue.state.type,
            "team": issue.team.key if issue.team else None,
            "priority": issue.priority,
            "assignee": issue.assignee.email if issue.assignee else None,
            "labels": [label.name for label in issue.labels],
            "url": issue.url,
            "completed_at": issue.completedAt.isoformat() if issue.completedAt else None,
            "canceled_at": issue.canceledAt.isoformat() if issue.canceledAt else None,
            "archived_at": issue.archivedAt.isoformat() if issue.archivedAt else None,
        },
    )


def linear_issue_from_api(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL issue node: Relay connections (``labels.nodes``) become plain lists."""
    labels = node.get("labels")
    if isinstance(labels, dict):
        return {**node, "labels": labels.get("nodes") or []}
    return node
