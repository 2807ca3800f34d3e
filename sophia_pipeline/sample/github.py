"""Sample GitHub events (events-API shape): pushes carrying changed files with their patch
and full new source, pull requests opened and merged, issues and comments. A few events
arrive twice, as they do when webhooks and polling overlap: ``github/events/<day>.jsonl``
by created_at."""

from __future__ import annotations

import difflib
import random
from datetime import datetime, timedelta
from typing import Any

from .base import SampleRun, SampleSource
from .code import ENTITIES, REPOS, SourceFile, new_file
from .common import hex_id, iso_z, rand_between, write_jsonl_by_day
from .world import Person, World

EVENTS_PER_SCALE = 150
ORG = {"id": 91200001, "login": "sophia-ai", "gravatar_id": "",
       "url": "https://api.github.com/orgs/sophia-ai",
       "avatar_url": "https://avatars.githubusercontent.com/u/91200001?"}  # fmt: skip

PR_TITLES = [
    "Fix {e} sync cursor on retry",
    "Add {e} health label to the dashboard",
    "Refactor {e} normalization",
    "Handle 429 responses in the {e} client",
    "Batch {e} writes to cut warehouse load",
    "Dedupe {e}s by id before upsert",
]
ISSUE_TITLES = [
    "{E} sync fails on an empty page",
    "Flaky test in the {e} service",
    "{E} export runs out of memory on large workspaces",
    "Archived {e}s still show up in search",
]
COMMENTS = [
    "LGTM, one nit on the retry backoff.",
    "Can we add a test for the empty page case?",
    "Reproduced locally, fix incoming.",
    "This also affects {company}, they reported it through support.",
    "Should we gate this behind a flag for the first week?",
    "Merged, will watch the dashboards after deploy.",
    "I think the cursor should only move after the transaction commits.",
]
COMMIT_MESSAGES = [
    "Retry rate-limited {e} requests with backoff",
    "Keep newest {e} per id",
    "Tidy {e} service helpers",
    "Add {e} health helper",
    "Move {e} cursor after commit",
]


def _actor(p: Person) -> dict:
    return {
        "id": p.github_id,
        "login": p.github_login,
        "display_login": p.github_login,
        "gravatar_id": "",
        "url": f"https://api.github.com/users/{p.github_login}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{p.github_id}?",
    }


def _user(p: Person) -> dict:
    return {"login": p.github_login, "id": p.github_id, "type": "User"}


def _patch(old: str, new: str) -> str:
    """GitHub's ``patch`` field: the unified diff's hunks, without file headers."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3)
    return "\n".join(list(lines)[2:])


class _Repo:
    def __init__(self, rng: random.Random, name: str, language: str, index: int) -> None:
        self.name = name
        self.language = language
        self.id = 610000000 + index * 104729
        self.head = hex_id(rng, 40)
        self.files: dict[str, SourceFile] = {}
        for entity in rng.sample(ENTITIES, 3):
            f = new_file(rng, language, entity)
            self.files[f.path] = f
        self.next_number = rng.randint(40, 300)
        self.open_prs: list[dict] = []
        self.open_issues: list[dict] = []
        self.threads: list[dict] = []  # issues and PRs one can comment on

    def ref(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "url": f"https://api.github.com/repos/{self.name}",
        }

    def number(self) -> int:
        self.next_number += 1
        return self.next_number


def generate_events(
    rng: random.Random, world: World, linear_ids: list[str]
) -> list[tuple[datetime, str, dict]]:
    window = world.window
    engineers = world.by_role("eng")
    companies = [c.name for c in world.companies if c.archived_at is None]
    repos = [_Repo(rng, name, lang, i) for i, (name, lang) in enumerate(REPOS)]
    n = EVENTS_PER_SCALE * world.scale
    times = sorted(
        rand_between(rng, window.start, window.end - timedelta(minutes=10)) for _ in range(n)
    )
    records: list[tuple[datetime, str, dict]] = []
    next_id = 38_000_000_000 + rng.randrange(1_000_000)
    push_id = 17_000_000_000 + rng.randrange(1_000_000)
    for at in times:
        repo = rng.choice(repos)
        actor = rng.choice(engineers)
        kind = rng.choices(
            ["PushEvent", "PullRequestEvent", "IssuesEvent", "IssueCommentEvent"], [40, 25, 15, 20]
        )[0]
        if kind == "IssueCommentEvent" and not repo.threads:
            kind = "IssuesEvent"
        if kind == "PushEvent":
            push_id += rng.randint(1, 5000)
            payload = _push(rng, repo, actor, push_id)
        elif kind == "PullRequestEvent":
            payload = _pull_request(rng, repo, actor, at, linear_ids)
        elif kind == "IssuesEvent":
            payload = _issue(rng, repo, actor, at)
        else:
            payload = _comment(rng, repo, actor, at, companies)
        next_id += rng.randint(1, 90_000)
        event: dict[str, Any] = {
            "id": str(next_id),
            "type": kind,
            "actor": _actor(actor),
            "repo": repo.ref(),
            "org": ORG,
            "payload": payload,
            "public": False,
            "created_at": iso_z(at),
        }
        records.append((at, event["id"], event))
    # Webhook + polling overlap: the same event, same id, delivered again the same day.
    for at, key, event in rng.sample(records, max(1, len(records) // 30)):
        records.append((at, key + "~again", event))
    return records


def write_sample(run: SampleRun) -> dict[str, int]:
    events = generate_events(run.rng("github"), run.world, run.world.linear_issue_keys)
    return {"github/events": write_jsonl_by_day(run.landing_dir / "github" / "events", events)}


# After Linear: pull requests reference its issue keys.
SAMPLE = SampleSource(order=50, folders=("github/events",), write=write_sample)


def _push(rng: random.Random, repo: _Repo, actor: Person, push_id: int) -> dict:
    files: list[dict] = []
    entity = "service"
    paths = sorted(repo.files)
    roll = rng.random()
    unused = [e for e in ENTITIES if not any(f.entity == e for f in repo.files.values())]
    if roll < 0.12 and unused:
        f = new_file(rng, repo.language, rng.choice(unused))
        repo.files[f.path] = f
        entity = f.entity
        files.append(_file_change(f, "added", "", f.render()))
    elif roll < 0.17 and len(paths) > 2:
        f = repo.files.pop(rng.choice(paths))
        entity = f.entity
        files.append(_file_change(f, "removed", f.render(), ""))
    else:
        for path in rng.sample(paths, min(len(paths), rng.randint(1, 2))):
            f = repo.files[path]
            entity = f.entity
            old = f.render()
            if f.edit(rng):
                files.append(_file_change(f, "modified", old, f.render()))
    before, repo.head = repo.head, hex_id(rng, 40)
    message = rng.choice(COMMIT_MESSAGES).format(e=entity)
    return {
        "push_id": push_id,
        "size": 1,
        "distinct_size": 1,
        "ref": "refs/heads/main",
        "head": repo.head,
        "before": before,
        "commits": [
            {
                "sha": repo.head,
                "author": {"email": actor.email, "name": actor.name},
                "message": message,
                "distinct": True,
                "url": f"https://api.github.com/repos/{repo.name}/commits/{repo.head}",
            }
        ],
        "files": files,
    }


def _file_change(f: SourceFile, status: str, old: str, new: str) -> dict:
    patch = _patch(old, new)
    return {
        "filename": f.path,
        "status": status,
        "language": f.language,
        "additions": sum(1 for line in patch.splitlines() if line.startswith("+")),
        "deletions": sum(1 for line in patch.splitlines() if line.startswith("-")),
        "patch": patch,
        # The file after the change; what the code chunker reads. None once removed.
        "source": new if status != "removed" else None,
    }


def _entity(rng: random.Random, repo: _Repo) -> str:
    return rng.choice(sorted(f.entity for f in repo.files.values()) or ["service"])


def _pull_request(
    rng: random.Random, repo: _Repo, actor: Person, at: datetime, linear_ids: list[str]
) -> dict:
    if repo.open_prs and rng.random() < 0.55:
        pr = repo.open_prs.pop(rng.randrange(len(repo.open_prs)))
        merged = rng.random() < 0.8
        pr.update(
            state="closed",
            merged=merged,
            merged_at=iso_z(at) if merged else None,
            closed_at=iso_z(at),
            updated_at=iso_z(at),
            merge_commit_sha=hex_id(rng, 40) if merged else None,
        )
        return {"action": "closed", "number": pr["number"], "pull_request": dict(pr)}
    e = _entity(rng, repo)
    number = repo.number()
    fixes = f"\n\nFixes {rng.choice(linear_ids)}" if linear_ids and rng.random() < 0.7 else ""
    body = (
        f"## Summary\n\n{rng.choice(PR_TITLES).format(e=e)}. The previous behaviour lost "
        "work when a page failed halfway through.\n\n## Changes\n\n"
        f"- Move the cursor only after the write commits\n- Add tests for the {e} client\n\n"
        f"## Testing\n\n- Unit tests\n- Replayed a day of production traffic on staging{fixes}\n"
    )
    pr = {
        "id": 1_900_000_000 + number * 31 + repo.id % 1000,
        "number": number,
        "title": rng.choice(PR_TITLES).format(e=e),
        "body": body,
        "state": "open",
        "merged": False,
        "merged_at": None,
        "closed_at": None,
        "merge_commit_sha": None,
        "user": _user(actor),
        "html_url": f"https://github.com/{repo.name}/pull/{number}",
        "created_at": iso_z(at),
        "updated_at": iso_z(at),
        "head": {"ref": f"{actor.github_login}/{e}-fix", "sha": hex_id(rng, 40)},
        "base": {"ref": "main", "sha": repo.head},
        "additions": rng.randint(3, 400),
        "deletions": rng.randint(0, 200),
        "changed_files": rng.randint(1, 12),
    }
    repo.open_prs.append(pr)
    repo.threads.append({"number": number, "title": pr["title"], "pull_request": True,
                         "created_at": pr["created_at"]})  # fmt: skip
    return {"action": "opened", "number": number, "pull_request": dict(pr)}


def _issue(rng: random.Random, repo: _Repo, actor: Person, at: datetime) -> dict:
    if repo.open_issues and rng.random() < 0.4:
        issue = repo.open_issues.pop(rng.randrange(len(repo.open_issues)))
        issue.update(state="closed", closed_at=iso_z(at), updated_at=iso_z(at))
        return {"action": "closed", "issue": dict(issue)}
    e = _entity(rng, repo)
    number = repo.number()
    title = rng.choice(ISSUE_TITLES).format(e=e, E=e.capitalize())
    issue = {
        "id": 2_400_000_000 + number * 37 + repo.id % 1000,
        "number": number,
        "title": title,
        "body": (
            f"### What happened\n\n{title} since the last deploy.\n\n"
            "### Logs\n\n```\nERROR sync page failed: status=429 attempt=5\n```\n\n"
            "### Expected\n\nThe job retries and finishes.\n"
        ),
        "state": "open",
        "user": _user(actor),
        "labels": [{"name": "bug"}],
        "html_url": f"https://github.com/{repo.name}/issues/{number}",
        "created_at": iso_z(at),
        "updated_at": iso_z(at),
        "closed_at": None,
    }
    repo.open_issues.append(issue)
    repo.threads.append({"number": number, "title": title, "pull_request": False,
                         "created_at": issue["created_at"]})  # fmt: skip
    return {"action": "opened", "issue": dict(issue)}


def _comment(
    rng: random.Random, repo: _Repo, actor: Person, at: datetime, companies: list[str]
) -> dict:
    thread = rng.choice(repo.threads)
    kind = "pull" if thread["pull_request"] else "issues"
    comment_id = 1_700_000_000 + rng.randrange(100_000_000)
    issue = {
        "number": thread["number"],
        "title": thread["title"],
        "html_url": f"https://github.com/{repo.name}/{kind}/{thread['number']}",
        "created_at": thread["created_at"],
    }
    if thread["pull_request"]:
        issue["pull_request"] = {
            "url": f"https://api.github.com/repos/{repo.name}/pulls/{thread['number']}"
        }
    return {
        "action": "created",
        "issue": issue,
        "comment": {
            "id": comment_id,
            "body": rng.choice(COMMENTS).format(company=rng.choice(companies)),
            "user": _user(actor),
            "html_url": f"{issue['html_url']}#issuecomment-{comment_id}",
            "created_at": iso_z(at),
            "updated_at": iso_z(at),
        },
    }
