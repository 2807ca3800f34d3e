"""Gong REST API v2: calls, their extensive data (parties, content) and transcripts.

Paging: every list answers ``records.cursor`` while more pages remain. For ``GET
/v2/calls`` the cursor is a query parameter; for the POST endpoints
(``/v2/calls/extensive``, ``/v2/calls/transcript``) it must go in the JSON body: sent
in the query string, Gong silently returns the first page again.

Limits: 3 requests/s and 10,000/day per company; 429 carries ``Retry-After`` in seconds.
A 404 whose body is Gong's own error envelope means "no calls match", i.e. empty.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Self

from sophia_pipeline.reliability import (
    ApiResponse,
    HttpClientConfig,
    HttpStatusError,
    RateLimit,
    ResilientHttpClient,
)
from sophia_pipeline.reliability.breaker import RedisLike

from .base import ApiClient

DEFAULT_BASE_URL = "https://api.gong.io"
DEFAULT_RATE_LIMIT = RateLimit(requests=3, period_s=1.0)

DEFAULT_EXPOSED_FIELDS: dict[str, Any] = {
    "parties": True,
    "content": {
        "brief": True,
        "outline": True,
        "highlights": True,
        "keyPoints": True,
        "callOutcome": True,
        "topics": True,
        "trackers": True,
    },
    "interaction": {"speakers": True, "questions": True},
}


def gong_time(value: datetime) -> str:
    """ISO-8601 in UTC, as Gong's filters expect; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError("Gong date filters need timezone-aware datetimes")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class GongClient(ApiClient):
    """Read-only Gong client. ``token`` is the value after ``Basic `` (or ``Bearer ``).

    With an access key and secret, use :meth:`from_access_key`.
    """

    NAME = "gong"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        redis: RedisLike | None = None,
        config: HttpClientConfig | None = None,
        auth_scheme: str = "Basic",
        extra_secrets: Sequence[str] = (),
    ) -> None:
        self.http = ResilientHttpClient.build(
            self.NAME,
            base_url,
            redis=redis,
            config=config,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            secret_headers={"Authorization": f"{auth_scheme} {token}"},
            extra_secrets=[token, *extra_secrets],
        )

    @classmethod
    def from_access_key(cls, access_key: str, access_key_secret: str, **kwargs: Any) -> Self:
        token = base64.b64encode(f"{access_key}:{access_key_secret}".encode()).decode()
        return cls(token, extra_secrets=[access_key, access_key_secret], **kwargs)

    # -- endpoints ----------------------------------------------------------------------

    def list_calls(self, from_dt: datetime, to_dt: datetime) -> Iterator[dict[str, Any]]:
        """Calls started in ``[from_dt, to_dt)`` (Gong: from inclusive, to exclusive)."""
        params = {"fromDateTime": gong_time(from_dt), "toDateTime": gong_time(to_dt)}
        while True:
            response = self.http.get("/v2/calls", params=params, ok_statuses=(404,))
            data = self._page(response, "GET")
            yield from data.get("calls") or []
            cursor = (data.get("records") or {}).get("cursor")
            if not cursor:
                return
            params = {**params, "cursor": cursor}

    def calls_extensive(
        self,
        *,
        call_ids: Sequence[str] | None = None,
        from_dt: datetime | None = None,
        to_dt: datetime | None = None,
        exposed_fields: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Parties and content per call (``metaData.id`` is the call id)."""
        body: dict[str, Any] = {
            "filter": self._filter(call_ids, from_dt, to_dt),
            "contentSelector": {
                "context": "Extended",
                "exposedFields": exposed_fields or DEFAULT_EXPOSED_FIELDS,
            },
        }
        yield from self._post_pages("/v2/calls/extensive", body, "calls")

    def transcripts(
        self,
        *,
        call_ids: Sequence[str] | None = None,
        from_dt: datetime | None = None,
        to_dt: datetime | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``{"callId": ..., "transcript": [{"speakerId", "topic", "sentences"}]}`` per call."""
        body = {"filter": self._filter(call_ids, from_dt, to_dt)}
        yield from self._post_pages("/v2/calls/transcript", body, "callTranscripts")

    def iter_calls(
        self,
        from_dt: datetime,
        to_dt: datetime,
        *,
        batch_size: int = 100,
        with_transcripts: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every call in ``[from_dt, to_dt)`` once, with parties, content and transcript.

        Lists call ids first, then fetches details in batches of ``batch_size`` ids, so
        a failure costs one batch, not the whole window.
        """
        seen: set[str] = set()
        batch: list[str] = []
        for call in self.list_calls(from_dt, to_dt):
            call_id = str(call["id"])
            if call_id in seen:
                continue
            seen.add(call_id)
            batch.append(call_id)
            if len(batch) >= batch_size:
                yield from self._details(batch, with_transcripts)
                batch = []
        if batch:
            yield from self._details(batch, with_transcripts)

    # -- internals ----------------------------------------------------------------------

    def _details(self, call_ids: list[str], with_transcripts: bool) -> Iterator[dict[str, Any]]:
        transcripts: dict[str, list[Any]] = {}
        if with_transcripts:
            for item in self.transcripts(call_ids=call_ids):
                transcripts[str(item.get("callId"))] = item.get("transcript") or []
        emitted: set[str] = set()
        for call in self.calls_extensive(call_ids=call_ids):
            call_id = str((call.get("metaData") or {}).get("id"))
            if call_id in emitted:
                continue
            emitted.add(call_id)
            if with_transcripts:
                call = {**call, "transcript": transcripts.get(call_id, [])}
            yield call

    @staticmethod
    def _filter(
        call_ids: Sequence[str] | None, from_dt: datetime | None, to_dt: datetime | None
    ) -> dict[str, Any]:
        flt: dict[str, Any] = {}
        if from_dt is not None:
            flt["fromDateTime"] = gong_time(from_dt)
        if to_dt is not None:
            flt["toDateTime"] = gong_time(to_dt)
        if call_ids:
            flt["callIds"] = list(call_ids)
        return flt

    def _post_pages(self, path: str, body: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
        while True:
            response = self.http.post(path, json=body, ok_statuses=(404,))
            data = self._page(response, "POST")
            yield from data.get(key) or []
            cursor = (data.get("records") or {}).get("cursor")
            if not cursor:
                return
            body = {**body, "cursor": cursor}

    def _page(self, response: ApiResponse, method: str) -> dict[str, Any]:
        data = response.data
        if response.status_code == 404:
            # Gong's "no calls found" answer carries its requestId envelope; a 404 from
            # anything else (wrong base URL, proxy) is a real error.
            if isinstance(data, dict) and "requestId" in data:
                return {}
            raise HttpStatusError(
                dependency=self.NAME, method=method, url=response.url, status_code=404
            )
        return data if isinstance(data, dict) else {}
