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
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Discriminator, Field, Tag, TypeAdapter

from .documents import Document, DocumentKind

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
