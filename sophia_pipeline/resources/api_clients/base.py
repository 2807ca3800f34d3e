"""What every API client shares: one resilient HTTP client, closed with the client."""

from __future__ import annotations

from typing import Self

from sophia_pipeline.reliability import ResilientHttpClient


class ApiClient:
    """Base of the source API clients; usable as a context manager."""

    http: ResilientHttpClient

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
