"""GitHub: events-API record schemas and normalization (one event can yield several
documents, or none).

Landing file: ``landing/github/events/<YYYY-MM-DD>.jsonl``, one event per line in the file
of the UTC day of its ``created_at``. Events have the events-API shape (``id``, ``type``,
``actor``, ``repo``, ``payload``, ``created_at``); webhooks and polling overlap, so the same
event (same ``id``) can land more than once: de-duplicate on ``id``.

Handled types and what they normalize to:

- ``PushEvent``: ``payload.files[]`` lists the changed files with ``patch`` (the diff hunks)
  and ``source`` (the whole file after the change; null once removed). Each file becomes a
  CODE document ``github:file:<owner>/<repo>/<path>``; a removed file (or the old path of a
  renamed one), ``deleted=True``; a file listed without ``source``, nothing.
  (The public events API carries commits only; our webhook receiver and the sample
  generator attach the files so the code chunker has source to read.)
- ``PullRequestEvent``: the PR as a DOCUMENT ``github:pull_request:<owner>/<repo>/pull/<n>``.
- ``IssuesEvent``: the issue as a DOCUMENT ``github:issue:<owner>/<repo>/issues/<n>``
  (``action == "deleted"`` gives ``deleted=True``).
- ``IssueCommentEvent``: the comment as a DOCUMENT
  ``github:comment:<owner>/<repo>/comments/<id>``.

Any other event type validates as ``OtherEvent`` and yields no document.

A webhook delivery (``{action, repository, sender, ...}``, event name in the
``X-GitHub-Event`` header) becomes an events-API record with :func:`webhook_record`; its
day is the UTC day of ``created_at`` (when the receiver got it).
"""

from __future__ import annotations

import re
from datetime import UTC, date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Discriminator, Field, Tag, TypeAdapter

from sophia_pipeline.documents import Document, DocumentKind

from .landing import WebhookDelivery

SOURCE = "github"
ENTITY = "event"
FILE = "file"
PULL_REQUEST = "pull_request"
ISSUE = "issue"
COMMENT = "comment"

EXTENSION_LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".java": "java",
    ".rb": "ruby",
    ".rs": "rust",
}


class GitHubActor(BaseModel):
    id: int
    login: str
    display_login: str | None = None
    url: str | None = None
    avatar_url: str | None = None


class GitHubRepo(BaseModel):
    id: int
    name: str  # owner/repo
    url: str | None = None


class GitHubUser(BaseModel):
    login: str
    id: int | None = None
    type: str | None = None


class CommitAuthor(BaseModel):
    name: str | None = None
    email: str | None = None


class PushCommit(BaseModel):
    sha: str
    author: CommitAuthor | None = None
    message: str = ""
    distinct: bool = True
    url: str | None = None


class ChangedFile(BaseModel):
    filename: str
    status: str  # added | modified | removed | renamed
    previous_filename: str | None = None  # set when renamed
    language: str | None = None
    additions: int = 0
    deletions: int = 0
    patch: str | None = None
    source: str | None = None


class PushPayload(BaseModel):
    push_id: int | None = None
    size: int | None = None
    distinct_size: int | None = None
    ref: str
    head: str
    before: str
    commits: list[PushCommit] = Field(default_factory=list)
    files: list[ChangedFile] = Field(default_factory=list)


class GitRef(BaseModel):
    ref: str
    sha: str | None = None


class PullRequest(BaseModel):
    id: int
    number: int
    title: str
    body: str | None = None
    state: str
    merged: bool = False
    merged_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    merge_commit_sha: str | None = None
    user: GitHubUser
    html_url: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    head: GitRef | None = None
    base: GitRef | None = None
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None


class PullRequestPayload(BaseModel):
    action: str
    number: int
    pull_request: PullRequest


class IssueLabel(BaseModel):
    name: str


class Issue(BaseModel):
    id: int
    number: int
    title: str
    body: str | None = None
    state: str
    user: GitHubUser
    labels: list[IssueLabel] = Field(default_factory=list)
    html_url: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None = None


class IssuesPayload(BaseModel):
    action: str
    issue: Issue


class CommentedIssue(BaseModel):
    """The issue (or PR) a comment belongs to; the events API may send it whole or not."""

    number: int
    title: str | None = None
    html_url: str | None = None
    created_at: AwareDatetime | None = None
    pull_request: dict[str, Any] | None = None


class IssueComment(BaseModel):
    id: int
    body: str = ""
    user: GitHubUser
    html_url: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class IssueCommentPayload(BaseModel):
    action: str
    issue: CommentedIssue
    comment: IssueComment


class _Event(BaseModel):
    id: str = Field(min_length=1)
    actor: GitHubActor
    repo: GitHubRepo
    public: bool | None = None
    created_at: AwareDatetime


class PushEvent(_Event):
    type: Literal["PushEvent"]
    payload: PushPayload


class PullRequestEvent(_Event):
    type: Literal["PullRequestEvent"]
    payload: PullRequestPayload


class IssuesEvent(_Event):
    type: Literal["IssuesEvent"]
    payload: IssuesPayload


class IssueCommentEvent(_Event):
    type: Literal["IssueCommentEvent"]
    payload: IssueCommentPayload


class OtherEvent(_Event):
    type: str
    payload: dict[str, Any] = Field(default_factory=dict)


_KNOWN = frozenset({"PushEvent", "PullRequestEvent", "IssuesEvent", "IssueCommentEvent"})


def _tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _KNOWN else "other"


GitHubEvent = Annotated[
    Annotated[PushEvent, Tag("PushEvent")]
    | Annotated[PullRequestEvent, Tag("PullRequestEvent")]
    | Annotated[IssuesEvent, Tag("IssuesEvent")]
    | Annotated[IssueCommentEvent, Tag("IssueCommentEvent")]
    | Annotated[OtherEvent, Tag("other")],
    Discriminator(_tag),
]
_ADAPTER: TypeAdapter[GitHubEvent] = TypeAdapter(GitHubEvent)


def parse(raw: dict[str, Any]) -> GitHubEvent:
    return _ADAPTER.validate_python(raw)


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return EXTENSION_LANGUAGES.get(path[dot:].lower()) if dot >= 0 else None


def _markdown(title: str, body: str | None) -> str:
    body = (body or "").strip()
    return f"# {title}\n\n{body}\n" if body else f"# {title}\n"


def normalize(event: GitHubEvent) -> list[Document]:
    repo = event.repo.name
    if isinstance(event, PushEvent):
        docs: list[Document] = []
        for f in event.payload.files:
            if f.previous_filename and f.previous_filename != f.filename:
                gone = f.model_copy(update={"filename": f.previous_filename, "status": "removed"})
                docs.append(_file_doc(event, gone))
            # A change without its source says nothing about the file's content: emitting
            # an empty document would wipe the chunks of the version already indexed.
            if f.source is not None or f.status == "removed":
                docs.append(_file_doc(event, f))
        return docs
    if isinstance(event, PullRequestEvent):
        pr = event.payload.pull_request
        source_id = f"{repo}/pull/{pr.number}"
        return [
            Document(
                doc_id=Document.make_id(SOURCE, PULL_REQUEST, source_id),
                source=SOURCE,
                entity_type=PULL_REQUEST,
                source_id=source_id,
                kind=DocumentKind.DOCUMENT,
                title=f"{repo}#{pr.number}: {pr.title}",
                text=_markdown(pr.title, pr.body),
                author=pr.user.login,
                occurred_at=pr.created_at,
                updated_at=max(pr.updated_at, event.created_at),
                attributes={
                    "repo": repo,
                    "number": pr.number,
                    "action": event.payload.action,
                    "state": pr.state,
                    "merged": pr.merged,
                    "merged_at": pr.merged_at.isoformat() if pr.merged_at else None,
                    "url": pr.html_url,
                    "event_id": event.id,
                },
            )
        ]
    if isinstance(event, IssuesEvent):
        issue = event.payload.issue
        source_id = f"{repo}/issues/{issue.number}"
        return [
            Document(
                doc_id=Document.make_id(SOURCE, ISSUE, source_id),
                source=SOURCE,
                entity_type=ISSUE,
                source_id=source_id,
                kind=DocumentKind.DOCUMENT,
                title=f"{repo}#{issue.number}: {issue.title}",
                text=_markdown(issue.title, issue.body),
                author=issue.user.login,
                occurred_at=issue.created_at,
                updated_at=max(issue.updated_at, event.created_at),
                deleted=event.payload.action == "deleted",
                attributes={
                    "repo": repo,
                    "number": issue.number,
                    "action": event.payload.action,
                    "state": issue.state,
                    "labels": [label.name for label in issue.labels],
                    "url": issue.html_url,
                    "event_id": event.id,
                },
            )
        ]
    if isinstance(event, IssueCommentEvent):
        comment, parent = event.payload.comment, event.payload.issue
        source_id = f"{repo}/comments/{comment.id}"
        about = f"{repo}#{parent.number}" + (f": {parent.title}" if parent.title else "")
        return [
            Document(
                doc_id=Document.make_id(SOURCE, COMMENT, source_id),
                source=SOURCE,
                entity_type=COMMENT,
                source_id=source_id,
                kind=DocumentKind.DOCUMENT,
                title=f"Comment on {about}",
                text=comment.body,
                author=comment.user.login,
                occurred_at=comment.created_at,
                updated_at=max(comment.updated_at, event.created_at),
                deleted=event.payload.action == "deleted",
                attributes={
                    "repo": repo,
                    "number": parent.number,
                    "on_pull_request": parent.pull_request is not None,
                    "action": event.payload.action,
                    "url": comment.html_url,
                    "event_id": event.id,
                },
            )
        ]
    return []


def _file_doc(event: PushEvent, f: ChangedFile) -> Document:
    repo = event.repo.name
    source_id = f"{repo}/{f.filename}"
    removed = f.status == "removed"
    head = event.payload.commits[-1] if event.payload.commits else None
    return Document(
        doc_id=Document.make_id(SOURCE, FILE, source_id),
        source=SOURCE,
        entity_type=FILE,
        source_id=source_id,
        kind=DocumentKind.CODE,
        title=f"{repo}/{f.filename}",
        text="" if removed else (f.source or ""),
        author=(head.author.email if head and head.author else None) or event.actor.login,
        occurred_at=event.created_at,
        updated_at=event.created_at,
        deleted=removed,
        attributes={
            "repo": repo,
            "path": f.filename,
            "language": f.language or language_of(f.filename),
            "status": f.status,
            "additions": f.additions,
            "deletions": f.deletions,
            "commit": event.payload.head,
            "ref": event.payload.ref,
            "event_id": event.id,
        },
    )


# --- webhook deliveries -> the events-API shape ---------------------------------------------

_GITHUB_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_GITHUB_TYPES = {
    "push": "PushEvent",
    "pull_request": "PullRequestEvent",
    "issues": "IssuesEvent",
    "issue_comment": "IssueCommentEvent",
}


def github_event_name(event: WebhookDelivery) -> str | None:
    """``push`` for ``push`` / ``issues`` for ``issues.opened``; the header when the
    receiver did not recognise the event and landed it as ``unknown``."""
    name = event.event_type.split(".", 1)[0]
    if name == "unknown":
        name = str(event.headers.get("x-github-event", ""))
    return name if _GITHUB_EVENT_RE.match(name) else None


def events_api_type(name: str) -> str:
    """The events-API ``type`` of a webhook event name (``pull_request_review`` ->
    ``PullRequestReviewEvent``, GitHub's own naming)."""
    return _GITHUB_TYPES.get(name) or "".join(p.capitalize() for p in name.split("_")) + "Event"


def github_event_id(delivery_id: str) -> str:
    """A stable event id for a webhook delivery: a redelivery keeps its GUID, so it keeps
    its id; the prefix keeps it apart from the events API's numeric ids."""
    return f"delivery-{delivery_id}"


def _actor(sender: Any) -> Any:
    if not isinstance(sender, dict):
        return sender  # left for validation to name
    return {
        "id": sender.get("id"),
        "login": sender.get("login"),
        "display_login": sender.get("login"),
        "url": sender.get("url"),
        "avatar_url": sender.get("avatar_url"),
    }


def _repo(repository: Any) -> Any:
    if not isinstance(repository, dict):
        return repository
    return {
        "id": repository.get("id"),
        "name": repository.get("full_name"),
        "url": repository.get("url"),
    }


def _changed_files(commits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Files the push touched, in commit order: the last commit's verdict wins, except
    that a file added and then modified in one push is still new."""
    status: dict[str, str] = {}
    for c in commits:
        for kind, paths in (
            ("added", c.get("added")),
            ("modified", c.get("modified")),
            ("removed", c.get("removed")),
        ):
            for path in paths or []:
                if not isinstance(path, str):
                    continue
                if kind == "modified" and status.get(path) == "added":
                    continue
                status[path] = kind
    return [{"filename": p, "status": s} for p, s in status.items()]


def _push_payload(body: dict[str, Any]) -> dict[str, Any]:
    commits = [c for c in body.get("commits") or [] if isinstance(c, dict)]
    given = body.get("repository")
    repository: dict[str, Any] = given if isinstance(given, dict) else {}
    default_branch = repository.get("default_branch")
    # A webhook lists changed paths without their content, so only removals say anything
    # about the indexed file; and file documents carry no branch, so a removal on a
    # feature branch must not tombstone the default branch's file.
    on_default = bool(default_branch) and body.get("ref") == f"refs/heads/{default_branch}"
    return {
        **body,
        "head": body.get("after"),
        "size": len(commits),
        "distinct_size": sum(1 for c in commits if c.get("distinct", True)),
        "commits": [
            {
                "sha": c.get("id"),
                "author": {
                    "name": (c.get("author") or {}).get("name"),
                    "email": (c.get("author") or {}).get("email"),
                },
                "message": c.get("message") or "",
                "distinct": c.get("distinct", True),
                "url": c.get("url"),
            }
            for c in commits
        ],
        "files": _changed_files(commits) if on_default else [],
    }


def webhook_record(event: WebhookDelivery) -> dict[str, Any]:
    """A landed GitHub webhook delivery in the events-API shape :func:`parse` takes."""
    body = event.payload
    if not isinstance(body, dict):
        raise ValueError("a webhook body must be a JSON object")
    name = github_event_name(event)
    if name is None:
        raise ValueError(
            f"unknown GitHub event type {event.event_type!r} and no usable X-GitHub-Event header"
        )
    kind = events_api_type(name)
    repository = body.get("repository")
    return {
        "id": github_event_id(event.id),
        "type": kind,
        "actor": _actor(body.get("sender")),
        "repo": _repo(repository),
        "public": (not repository["private"])
        if isinstance(repository, dict) and isinstance(repository.get("private"), bool)
        else None,
        "created_at": event.received_at,
        "payload": _push_payload(body) if kind == "PushEvent" else body,
    }


def record_day(record: GitHubEvent) -> date:
    """The UTC day a webhook-delivered event belongs to: that of its ``created_at``."""
    return record.created_at.astimezone(UTC).date()
