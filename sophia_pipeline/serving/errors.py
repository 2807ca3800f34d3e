"""The read API's own failures, one type per answer a caller gets.

Both doors translate them the same way: HTTP as 422 / 404 / 503 with a JSON body, MCP as
a tool error whose text is the same message. No message carries a secret or a stack:
dependency failures say which dependency and what kind of failure, never a connection
string.
"""

from __future__ import annotations

from pydantic import ValidationError


class ServingError(Exception):
    """Base of every error the service raises on purpose."""


class InvalidRequest(ServingError, ValueError):
    """The request is well-formed JSON but asks for something that cannot exist (an
    unknown source): the caller's mistake, answered like a validation error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(ServingError, LookupError):
    """The thing asked for (an account, a dead letter, the report) does not exist."""


class DependencyUnavailable(ServingError):
    """A dependency (warehouse, vector store, cache, embedder) failed, timed out, or its
    circuit breaker is open. ``dependency`` names it for the caller and for ``/ready``."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency} unavailable: {reason}")
        self.dependency = dependency
        self.reason = reason


def validation_message(exc: ValidationError) -> str:
    """One line per error: where and what, never the rejected value (it may be 1 MB)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "request"
        parts.append(f"{where}: {err['msg']}")
    return "invalid request: " + "; ".join(parts)
