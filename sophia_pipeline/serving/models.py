"""Typed requests and responses of the read API: one model per call, shared by both doors.

The MCP tools take a request model's fields as their arguments and return its response
model (whose JSON schema becomes the tool's output schema); the HTTP endpoints take the
same request model as query parameters (or body) and return the same response model,
so a call answers with the same payload through either door.

Validation here is everything that needs no data: bounds on limits and text lengths,
identifiers restricted to the characters real ids use, dates in order. What needs the
deployment (whether a source exists) is checked by the service against the sources it
was given. Nothing a caller sends is ever put into SQL or a vector-store filter as text:
the store binds every value as a parameter, and ids are refused before they get there
unless they match ``ID_PATTERN``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from sophia_pipeline.documents import SourceName

# Ids in every source are short runs of letters, digits and a few separators (HubSpot
# numbers, Gong ids, `source:entity:id` document ids, hash-like dead-letter ids). Quotes,
# spaces, semicolons and the rest are refused outright.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@#/-]{0,127}$"
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=128)]
CompetitorName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


def _utc(value: datetime) -> datetime:
    """The stores keep naive UTC; a response says so (RFC 3339 needs the offset)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
# Ten years of daily rows is far beyond any dashboard; a bound keeps one call cheap.
MAX_RANGE_DAYS = 3660


class Request(BaseModel):
    """Unknown fields are errors: a misspelt filter must not silently match everything."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Response(BaseModel):
    model_config = ConfigDict(frozen=True)


def check_range(start: date | datetime | None, end: date | datetime | None) -> None:
    if start is not None and end is not None:
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValueError(f"the range spans more than {MAX_RANGE_DAYS} days")


# --- get_kpis --------------------------------------------------------------------------------


class KpiRequest(Request):
    start: date | None = Field(
        None, description="First day (YYYY-MM-DD), included; default: 29 days before `end`."
    )
    end: date | None = Field(
        None, description="Last day, included; default: the newest day with a rollup."
    )

    @model_validator(mode="after")
    def _ordered(self) -> KpiRequest:
        check_range(self.start, self.end)
        return self


class KpiRow(Response):
    """One day's rollup "as of" the end of that UTC day (formulas: processing/kpis)."""

    kpi_date: date
    revenue_mtd: float
    deals_won_mtd: int
    pipeline_value: float
    pipeline_value_unweighted: float
    open_deals: int
    customer_health_score: float | None
    accounts_scored: int
    competitive_win_rate: float | None
    competitive_deals_won: int
    competitive_deals_lost: int
    team_productivity_score: float | None
    issues_closed: int
    prs_merged: int
    active_people: int
    llm_cost_efficiency: float | None
    llm_cost_usd: float | None


class KpiResponse(Response):
    start: date | None = Field(description="The first day asked for (resolved default).")
    end: date | None = Field(description="The last day asked for (resolved default).")
    days: list[KpiRow] = Field(description="Stored rollups in the range, oldest first.")
    latest: KpiRow | None = Field(description="The newest of `days`.")


# --- competitor_mentions ---------------------------------------------------------------------


class MentionsRequest(Request):
    competitor: CompetitorName | None = Field(
        None, description="Canonical competitor name (any case); default: every competitor."
    )
    sources: list[SourceName] = Field(
        default_factory=list, max_length=20, description="Only these sources; default: all."
    )
    start: date | None = Field(None, description="First day of the mentions, included.")
    end: date | None = Field(None, description="Last day of the mentions, included.")
    account_id: Identifier | None = Field(None, description="Only mentions on this account.")
    limit: int = Field(50, ge=1, le=500, description="Most mentions returned, newest first.")

    @model_validator(mode="after")
    def _ordered(self) -> MentionsRequest:
        check_range(self.start, self.end)
        return self


class Mention(Response):
    mention_id: str
    competitor: str
    source: str
    doc_id: str
    chunk_id: str
    account_id: str | None
    deal_id: str | None
    mentioned_at: UtcDatetime
    threat_level: int = Field(description="1 (a passing mention) .. 5 (a deal at risk).")
    sentiment: float | None = Field(description="VADER compound of the context, [-1, 1].")
    matched_text: str
    context: str | None = Field(description="The text around the mention.")


class CompetitorSummary(Response):
    competitor: str
    mentions: int
    max_threat: int
    avg_threat: float
    last_mentioned_at: UtcDatetime


class MentionsResponse(Response):
    competitors: list[CompetitorSummary] = Field(
        description="Per competitor over every mention the filters cover (not only the "
        "returned page), most mentioned first."
    )
    mentions: list[Mention]


# --- account_overview ------------------------------------------------------------------------


class AccountRequest(Request):
    account_id: Identifier = Field(description="The CRM account (company) id.")
    query: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="What the most relevant chunks should be about; default: the account's name.",
    )
    calls: int = Field(10, ge=1, le=50, description="Most recent calls returned.")
    chunks: int = Field(5, ge=1, le=20, description="Most relevant chunks returned.")


class CallSummary(Response):
    call_id: str
    doc_id: str
    title: str | None
    started_at: UtcDatetime
    duration_s: int | None
    deal_id: str | None
    sentiment: float | None
    outcome: str | None


class SentimentTrend(Response):
    direction: Literal["improving", "declining", "steady", "unknown"]
    earlier: float | None = Field(description="Mean sentiment of the older half of the calls.")
    recent: float | None = Field(description="Mean sentiment of the newer half.")
    calls: int


class Deal(Response):
    deal_id: str
    name: str | None
    stage: str | None
    amount: float | None
    close_date: str | None
    created_at: UtcDatetime


class Citation(Response):
    """A chunk quoted as evidence, with where it comes from."""

    chunk_id: str
    doc_id: str
    source: str
    title: str | None
    snippet: str
    score: float
    occurred_at: UtcDatetime | None
    link: str | None


class AccountOverview(Response):
    account_id: str
    name: str | None
    calls: list[CallSummary] = Field(description="Most recent first.")
    sentiment_trend: SentimentTrend
    open_deals: list[Deal]
    competitor_mentions: list[Mention]
    competitors: list[CompetitorSummary]
    relevant_chunks: list[Citation] = Field(
        description="The account's own chunks most relevant to the query, each cited."
    )


# --- answer ----------------------------------------------------------------------------------


class AnswerRequest(Request):
    question: str = Field(min_length=1, max_length=2000, description="The question to answer.")
    sources: list[SourceName] = Field(
        default_factory=list, max_length=20, description="Only passages of these sources."
    )
    account_id: Identifier | None = Field(None, description="Only passages of this account.")
    hits: int = Field(8, ge=1, le=8, description="Passages retrieved to answer from.")


# --- list_sources ----------------------------------------------------------------------------


class SourcesRequest(Request):
    pass


class SourceInfo(Response):
    source: str
    documents: int
    deleted_documents: int
    chunks: int
    vectors: int = Field(description="Chunks the index holds (from the index manifest).")
    newest_record_at: UtcDatetime | None = Field(description="Newest occurred_at / updated_at.")
    newest_partition: date | None
    last_indexed_at: UtcDatetime | None


class SourcesResponse(Response):
    sources: list[SourceInfo]
    index_vectors: int | None = Field(
        description="Vectors the vector store reports now; null when it cannot be reached."
    )


# --- dead letters (the CLI) ------------------------------------------------------------------


class DeadLetter(Response):
    dead_letter_id: str
    source: str
    stage: str
    source_file: str | None
    line_no: int | None
    partition_date: date | None
    error: str
    attempts: int
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    payload: str | None = None


# --- health ----------------------------------------------------------------------------------

DependencyName = Literal["warehouse", "vector_store", "cache", "embedder"]
State = Literal["up", "down", "degraded", "starting"]


class DependencyState(Response):
    name: DependencyName
    state: State
    detail: str


class Readiness(Response):
    status: Literal["healthy", "degraded", "unhealthy"]
    dependencies: list[DependencyState]
