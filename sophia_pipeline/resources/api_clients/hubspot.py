"""HubSpot CRM v3: companies, contacts and deals, full and incremental, deletes included.

- Full lists: ``GET /crm/v3/objects/{type}`` paged by ``paging.next.after``;
  ``archived=true`` lists the archived (deleted) records, which is how deletes arrive.
- Incremental: ``POST /crm/v3/objects/{type}/search`` filtered on the type's last-modified
  property (``hs_lastmodifieddate`` for companies and deals, ``lastmodifieddate`` for
  contacts) and sorted ascending on it.

Search returns at most 10,000 results per query and pages by offset, and an offset over
a result set that changes under it skips records (one updated mid-run moves to the end,
and the rest slide back one place). So search pages by *keyset*: each page is a fresh
query from the last timestamp seen (``GTE``), with records at exactly that timestamp
de-duplicated by id. ``after`` is used only inside one timestamp when more records share
it than a page holds. That also slices the time window, so the 10,000 cap never bites.

Limits: roughly 100-190 requests per 10 s depending on plan (configure it), daily caps,
and a separate, lower limit for search (its own limiter, figure unconfirmed). Every
response's ``X-HubSpot-RateLimit-*`` headers are read: when the window's remaining count
hits zero, all workers pause for the window via the shared limiter. 429 answers honour
``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from sophia_pipeline.reliability import (
    HttpClientConfig,
    InvalidResponseError,
    RateLimit,
    ResilientHttpClient,
    rate_limiter_for,
)
from sophia_pipeline.reliability.breaker import RedisLike

from .base import ApiClient

DEFAULT_BASE_URL = "https://api.hubapi.com"
# The lowest published general limit; raise it in config for higher plans.
DEFAULT_RATE_LIMIT = RateLimit(requests=100, period_s=10.0)
# CRM search has its own, lower per-account limit (figure unconfirmed: configure it).
DEFAULT_SEARCH_RATE_LIMIT = RateLimit(requests=4, period_s=1.0)

# Stale pages (records older than the filter, nothing new) answered in a row before the
# search is declared stuck: a repeated page now and then is a cache, forever a bug.
MAX_STALE_PAGES = 3

ObjectType = Literal["companies", "contacts", "deals"]

CURSOR_PROPERTY: dict[str, str] = {
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
}


def hubspot_pause_hint(response: httpx.Response) -> float | None:
    """Seconds every worker should hold off, from ``X-HubSpot-RateLimit-*`` headers."""
    headers = response.headers
    pauses: list[float] = []
    remaining = _int(headers.get("x-hubspot-ratelimit-remaining"))
    interval_ms = _int(headers.get("x-hubspot-ratelimit-interval-milliseconds"))
    if remaining is not None and remaining <= 0 and interval_ms:
        pauses.append(interval_ms / 1000)
    secondly = _int(headers.get("x-hubspot-ratelimit-secondly-remaining"))
    if secondly is not None and secondly <= 0:
        pauses.append(1.0)
    return max(pauses) if pauses else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_hubspot_time(value: Any) -> datetime | None:
    """HubSpot sends timestamps as ISO-8601 strings or epoch milliseconds."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch_ms(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("HubSpot filters need timezone-aware datetimes")
    return str(int(value.timestamp() * 1000))


def _stuck(name: str, path: str, after: str | None) -> InvalidResponseError:
    return InvalidResponseError(
        f"{name}: POST {path}: pagination did not advance (the same page again, after={after!r})",
        dependency=name,
        method="POST",
        url=path,
    )


class HubSpotClient(ApiClient):
    """Read-only HubSpot CRM client authenticated with a private-app or OAuth token."""

    NAME = "hubspot"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        redis: RedisLike | None = None,
        config: HttpClientConfig | None = None,
        search_rate_limit: RateLimit = DEFAULT_SEARCH_RATE_LIMIT,
        page_size: int = 100,
    ) -> None:
        if not 1 <= page_size <= 200:
            raise ValueError("page_size must be within 1..200 (HubSpot's maximum)")
        self.page_size = page_size
        self.http = ResilientHttpClient.build(
            self.NAME,
            base_url,
            redis=redis,
            config=config,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            secret_headers={"Authorization": f"Bearer {token}"},
            pause_hint=hubspot_pause_hint,
        )
        max_wait = self.http.config.rate_limit_max_wait_s
        self._search_limiter = rate_limiter_for(
            f"{self.NAME}-search", search_rate_limit, redis, default_max_wait_s=max_wait
        )

    def list_objects(
        self,
        object_type: ObjectType,
        *,
        properties: Sequence[str] = (),
        archived: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``object_type`` (only archived ones when ``archived``)."""
        params: dict[str, Any] = {"limit": self.page_size, "archived": str(archived).lower()}
        if properties:
            params["properties"] = ",".join(properties)
        path = f"/crm/v3/objects/{object_type}"
        while True:
            data = self.http.get(path, params=params).data or {}
            yield from data.get("results") or []
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            params = {**params, "after": after}

    def list_archived(
        self, object_type: ObjectType, *, properties: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Records deleted (archived) in HubSpot: feed these to the delete path."""
        return self.list_objects(object_type, properties=properties, archived=True)

    def search_modified(
        self,
        object_type: ObjectType,
        since: datetime,
        until: datetime | None = None,
        *,
        properties: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Records modified in ``[since, until)``, ascending, each version once.

        The caller's next cursor is the largest cursor-property value it consumed.
        """
        prop = CURSOR_PROPERTY[object_type]
        path = f"/crm/v3/objects/{object_type}/search"
        props = list(dict.fromkeys([*properties, prop]))
        lower = since
        at_lower: set[str] = set()  # ids already yielded with timestamp == lower
        after: str | None = None
        stale_pages = 0
        unstamped: set[str] = set()  # ids yielded without a cursor value (once each)
        while True:
            filters: list[dict[str, str]] = [
                {"propertyName": prop, "operator": "GTE", "value": _epoch_ms(lower)}
            ]
            if until is not None:
                filters.append({"propertyName": prop, "operator": "LT", "value": _epoch_ms(until)})
            body: dict[str, Any] = {
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
                "properties": props,
                "limit": self.page_size,
            }
            if after is not None:
                body["after"] = after
            data = self.http.post(path, json=body, limiter=self._search_limiter).data or {}
            results: list[dict[str, Any]] = data.get("results") or []
            if not results:
                return
            page_max = lower
            stale = False
            for record in results:
                try:
                    stamp = parse_hubspot_time((record.get("properties") or {}).get(prop))
                except ValueError:
                    stamp = None
                if stamp is None:
                    # No usable cursor value: it cannot move the keyset, but dropping it
                    # would lose it silently. The caller validates it (or dead-letters it).
                    rid = str(record.get("id"))
                    if rid not in unstamped:
                        unstamped.add(rid)
                        yield record
                    continue
                if stamp < lower:
                    stale = True  # older than our GTE filter: not the page we asked for
                    continue
                rid = str(record.get("id"))
                if stamp == lower and rid in at_lower:
                    continue
                yield record
                if stamp > page_max:
                    page_max, at_lower = stamp, set()
                if stamp == page_max:
                    at_lower.add(rid)
            next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if stale and page_max == lower:
                # A cached or repeated earlier page: its ``after`` belongs to another
                # query, and following it would skip records. Ask the same query again.
                stale_pages += 1
                if stale_pages > MAX_STALE_PAGES:
                    raise _stuck(self.http.name, path, after)
                continue
            stale_pages = 0
            if page_max > lower:
                lower, after = page_max, None  # keyset: restart from the newest stamp seen
            elif next_after:
                if str(next_after) == after:
                    # A server ignoring ``after`` answers the same page forever: fail the
                    # call (the run retries, then fails loudly) rather than spin.
                    raise _stuck(self.http.name, path, after)
                after = str(next_after)  # a whole page shares one stamp: page within it
            else:
                return
            if not next_after and len(results) < self.page_size:
                return
