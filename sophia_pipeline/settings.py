"""Every environment variable the project reads, as one typed settings object.

``load_settings()`` reads the environment once; the root ``definitions()`` calls it once
per load and hands the result to every defs module through ``use_settings`` /
``current_settings()`` (and each CLI command calls it once). Nothing reads the
environment at import, so tests switch profiles by setting variables, without purging
modules.

Each field's ``validation_alias`` is the variable's exact name, flat
(``SNOWFLAKE_PASSWORD``, not ``SNOWFLAKE__PASSWORD``) even inside the nested groups; a
variable that is empty or only spaces counts as unset. Secrets are ``SecretStr``: the
settings know whether each is set (to choose readers and name what prod is missing),
while the resources still receive them as ``dg.EnvVar`` so that the value is resolved at
launch and never stored in resource config or shown in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# The variables the prod profile's stores cannot do without (the warehouse, the vector
# store, the cache): the pipeline and the read API both refuse to start without them.
PROD_REQUIRED = (
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_DATABASE",
    "SNOWFLAKE_WAREHOUSE",
    "PINECONE_API_KEY",
    "PINECONE_INDEX_HOST",
    "REDIS_URL",
)


class Profile(StrEnum):
    LOCAL = "local"
    PROD = "prod"


class StepExecutor(StrEnum):
    """Where a run's steps execute: processes inside the run's own process or pod, or one
    Kubernetes Job per step (each step then gets its own resources)."""

    MULTIPROCESS = "multiprocess"
    K8S = "k8s"


# Names and ids where a stray space around the value is a copy-paste slip, not content.
Stripped = Annotated[str, StringConstraints(strip_whitespace=True)]


def var(name: str, default: Any, description: str, **kwargs: Any) -> Any:
    """A field read from the environment variable ``name``."""
    return Field(default, validation_alias=name, description=description, **kwargs)


class Group(BaseModel):
    """A nested group of settings (fields settable by name in code, by variable in env)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True)


class SnowflakeSettings(Group):
    account: str | None = var("SNOWFLAKE_ACCOUNT", None, "Snowflake account identifier.")
    user: str | None = var("SNOWFLAKE_USER", None, "Snowflake user.")
    password: SecretStr | None = var("SNOWFLAKE_PASSWORD", None, "Snowflake password.")
    database: str | None = var("SNOWFLAKE_DATABASE", None, "Snowflake database.")
    warehouse: str | None = var("SNOWFLAKE_WAREHOUSE", None, "Snowflake virtual warehouse.")
    role: str | None = var("SNOWFLAKE_ROLE", None, "Snowflake role (unset: the user's default).")


class PineconeSettings(Group):
    api_key: SecretStr | None = var("PINECONE_API_KEY", None, "Pinecone API key.")
    index_host: str | None = var("PINECONE_INDEX_HOST", None, "Host of the Pinecone index.")


AIRBYTE_SOURCES = ("gong", "hubspot", "linear")


class AirbyteSettings(Group):
    workspace_id: Stripped | None = var(
        "AIRBYTE_WORKSPACE_ID", None, "Airbyte workspace; set with a connection id to use Airbyte."
    )
    gong_connection_id: Stripped | None = var(
        "AIRBYTE_GONG_CONNECTION_ID", None, "Connection that syncs Gong (adds `airbyte/gong`)."
    )
    hubspot_connection_id: Stripped | None = var(
        "AIRBYTE_HUBSPOT_CONNECTION_ID", None, "Connection that syncs HubSpot."
    )
    linear_connection_id: Stripped | None = var(
        "AIRBYTE_LINEAR_CONNECTION_ID", None, "Connection that syncs Linear."
    )
    gong_namespace: str | None = var(
        "AIRBYTE_GONG_NAMESPACE", None, "Destination namespace of the Gong streams (default gong)."
    )
    hubspot_namespace: str | None = var(
        "AIRBYTE_HUBSPOT_NAMESPACE", None, "Namespace of the HubSpot streams (default hubspot)."
    )
    linear_namespace: str | None = var(
        "AIRBYTE_LINEAR_NAMESPACE", None, "Namespace of the Linear streams (default linear)."
    )
    raw_schema: str = var(
        "AIRBYTE_RAW_SCHEMA", "airbyte_internal", "Schema of the destination's raw tables."
    )
    poll_timeout_s: float = var(
        "AIRBYTE_POLL_TIMEOUT_S", 3 * 3600.0, "Longest wait for one sync, in seconds."
    )
    poll_interval_s: float = var(
        "AIRBYTE_POLL_INTERVAL_S", 10.0, "Seconds between polls of a running sync."
    )
    rest_api_base_url: str | None = var(
        "AIRBYTE_REST_API_BASE_URL", None, "Self-managed Airbyte's REST API (unset: Airbyte Cloud)."
    )
    configuration_api_base_url: str | None = var(
        "AIRBYTE_CONFIGURATION_API_BASE_URL", None, "Self-managed Airbyte's configuration API."
    )
    client_id: str | None = var("AIRBYTE_CLIENT_ID", None, "Airbyte API client id.")
    client_secret: SecretStr | None = var(
        "AIRBYTE_CLIENT_SECRET", None, "Airbyte API client secret."
    )
    username: str | None = var(
        "AIRBYTE_USERNAME", None, "Self-managed Airbyte basic-auth user (without a client id)."
    )
    password: SecretStr | None = var("AIRBYTE_PASSWORD", None, "Basic-auth password.")

    def connection_ids(self) -> dict[str, str]:
        """Source -> connection id, for the sources Airbyte is configured for (a workspace
        id and the source's connection id are both set)."""
        if not self.workspace_id:
            return {}
        ids = {s: getattr(self, f"{s}_connection_id") for s in AIRBYTE_SOURCES}
        return {s: cid for s, cid in ids.items() if cid}

    def namespace(self, source: str) -> str:
        return getattr(self, f"{source}_namespace") or source


class GongSettings(Group):
    access_key: SecretStr | None = var("GONG_ACCESS_KEY", None, "Gong API access key.")
    access_key_secret: SecretStr | None = var(
        "GONG_ACCESS_KEY_SECRET", None, "Gong API access key secret."
    )
    api_base_url: str | None = var(
        "GONG_API_BASE_URL", None, "Gong API host (unset: https://api.gong.io)."
    )


class HubSpotSettings(Group):
    access_token: SecretStr | None = var("HUBSPOT_ACCESS_TOKEN", None, "HubSpot private-app token.")
    api_base_url: str | None = var(
        "HUBSPOT_API_BASE_URL", None, "HubSpot API host (unset: https://api.hubapi.com)."
    )


class LinearSettings(Group):
    api_key: SecretStr | None = var("LINEAR_API_KEY", None, "Linear API key.")
    api_base_url: str | None = var(
        "LINEAR_API_BASE_URL", None, "Linear API host (unset: https://api.linear.app)."
    )


class ApolloSettings(Group):
    api_key: SecretStr | None = var("APOLLO_API_KEY", None, "Apollo.io API key.")
    api_base_url: str | None = var(
        "APOLLO_API_BASE_URL", None, "Apollo API host (unset: https://api.apollo.io)."
    )
    initial_cursor: str | None = var(
        "APOLLO_INITIAL_CURSOR", None, "Start of the first delta load (unset: everything)."
    )


class GitHubSettings(Group):
    token: SecretStr | None = var("GITHUB_TOKEN", None, "GitHub token for events polling.")
    repos: str | None = var("GITHUB_REPOS", None, "Repositories to poll, `owner/repo,...`.")
    api_base_url: str | None = var(
        "GITHUB_API_BASE_URL", None, "GitHub API host (unset: https://api.github.com)."
    )

    @property
    def repo_list(self) -> list[str]:
        return [r.strip() for r in (self.repos or "").split(",") if r.strip()]


class CoStarSettings(Group):
    batch_dir: str | None = var(
        "COSTAR_BATCH_DIR", None, "Folder of CoStar batch files (unset: the landing folder's)."
    )


class SourceSettings(Group):
    gong: GongSettings = GongSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    linear: LinearSettings = LinearSettings()
    apollo: ApolloSettings = ApolloSettings()
    github: GitHubSettings = GitHubSettings()
    costar: CoStarSettings = CoStarSettings()


class EstuarySettings(Group):
    table: Stripped | None = var(
        "ESTUARY_TABLE", None, "`schema.table` an Estuary materialization loads (prod only)."
    )
    loaded_at_column: str = var(
        "ESTUARY_LOADED_AT_COLUMN", "flow_published_at", "Column holding each row's load time."
    )
    freshness_minutes: int = var(
        "ESTUARY_FRESHNESS_MINUTES", 60, "The table is stale after this many minutes."
    )


class AlertSettings(Group):
    webhook_url: SecretStr | None = var(
        "SOPHIA_ALERT_WEBHOOK_URL",
        None,
        "Slack incoming webhook or n8n flow for competitor alerts (unset: recorded `unsent`).",
    )
    mention_threshold: int = var(
        "SOPHIA_ALERT_MENTION_THRESHOLD", 5, "Daily mentions of a competitor that alert."
    )
    threat_level: int = var(
        "SOPHIA_ALERT_THREAT_LEVEL", 4, "Highest daily threat level of a competitor that alerts."
    )
    lookback_days: int = var(
        "SOPHIA_ALERT_LOOKBACK_DAYS", 7, "Days each alert tick re-examines (late data alerts)."
    )


class WebhookSettings(Group):
    slack_signing_secret: SecretStr | None = var(
        "SLACK_SIGNING_SECRET", None, "Slack app signing secret (receiver)."
    )
    github_webhook_secret: SecretStr | None = var(
        "GITHUB_WEBHOOK_SECRET", None, "GitHub webhook secret (receiver)."
    )
    batch_events: PositiveInt = var(
        "SOPHIA_WEBHOOK_BATCH_EVENTS", 500, "Most landed events in one sensor-requested run."
    )
    batches_per_tick: PositiveInt = var(
        "SOPHIA_WEBHOOK_BATCHES_PER_TICK", 1, "Most runs one webhook sensor tick requests."
    )


class ApiSettings(Group):
    token: SecretStr | None = var(
        "SOPHIA_API_TOKEN",
        None,
        "Bearer token the read API (HTTP and `/mcp`) requires; unset: no auth (loopback use).",
    )
    host: str = var("SOPHIA_API_HOST", "127.0.0.1", "Address `sophia-pipeline serve` binds.")
    port: int = var(
        "SOPHIA_API_PORT", 8000, "Port `sophia-pipeline serve` listens on.", ge=1, le=65535
    )
    public_url: str | None = var(
        "SOPHIA_API_PUBLIC_URL",
        None,
        "The API's address as people reach it (report links); unset: `http://HOST:PORT`.",
    )
    dependency_timeout_s: float = var(
        "SOPHIA_API_DEPENDENCY_TIMEOUT_S",
        0.75,
        "Longest wait for one warehouse / vector store / embedder call before it fails.",
        gt=0,
    )

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


# The model the gateway asks for when none is set: cheap, and in the price table.
DEFAULT_LLM_MODEL = "gpt-4o-mini"


class LlmSettings(Group):
    """The LLM gateway (Portkey). Unset ``PORTKEY_API_KEY``: no LLM anywhere; summaries
    and answers are extractive and ``llm_cost_efficiency`` is null."""

    api_key: SecretStr | None = var(
        "PORTKEY_API_KEY", None, "Portkey API key; set, summaries and answers use the LLM."
    )
    virtual_key: SecretStr | None = var(
        "PORTKEY_VIRTUAL_KEY", None, "Portkey virtual key of the provider account to use."
    )
    provider: Stripped | None = var(
        "PORTKEY_PROVIDER", None, "Provider slug (`openai`, ...) when no virtual key is set."
    )
    base_url: Stripped | None = var(
        "PORTKEY_BASE_URL", None, "Gateway URL (unset: https://api.portkey.ai/v1)."
    )
    model: Stripped = var("SOPHIA_LLM_MODEL", DEFAULT_LLM_MODEL, "Chat model the gateway asks for.")
    timeout_s: float = var("SOPHIA_LLM_TIMEOUT_S", 30.0, "Longest wait for one LLM reply, seconds.")
    max_tokens: PositiveInt = var(
        "SOPHIA_LLM_MAX_TOKENS", 400, "Most tokens one LLM reply may hold."
    )

    @property
    def configured(self) -> bool:
        return not _is_unset(self.api_key)


class LandingSettings(Group):
    url: Stripped | None = var(
        "SOPHIA_LANDING_URL",
        None,
        "Where the receiver lands events: `s3://bucket/prefix` (any number of receivers) or "
        "a folder for SQLite (unset: `$SOPHIA_DATA_DIR/webhooks`).",
    )
    retention_hours: PositiveInt = var(
        "SOPHIA_LANDING_RETENTION_HOURS",
        168,
        "Consumed events older than this are pruned; also the dedup window.",
    )
    lag_s: float = var(
        "SOPHIA_LANDING_LAG_S",
        30.0,
        "Object storage: sensors read a batch only once it is this old (late writers).",
        gt=0,
    )
    aws_endpoint_url: Stripped | None = var(
        "AWS_ENDPOINT_URL", None, "S3-compatible endpoint (unset: AWS S3)."
    )
    aws_access_key_id: Stripped | None = var(
        "AWS_ACCESS_KEY_ID", None, "Access key id (unset: boto3's credential chain)."
    )
    aws_secret_access_key: SecretStr | None = var(
        "AWS_SECRET_ACCESS_KEY", None, "Secret access key."
    )
    aws_session_token: SecretStr | None = var(
        "AWS_SESSION_TOKEN", None, "Session token of temporary credentials."
    )
    aws_region: Stripped | None = var("AWS_REGION", None, "Region of the bucket.")


class Settings(BaseSettings):
    """The whole configuration. Build it with ``load_settings()``."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_by_name=True)

    profile: Profile = var(
        "SOPHIA_PROFILE", Profile.LOCAL, "`local` (one machine, no accounts) or `prod`."
    )
    data_dir: Path = var(
        "SOPHIA_DATA_DIR",
        Path(".sophia"),
        "Local data: landing files, DuckDB, LanceDB, webhooks, run history.",
        validate_default=True,
    )
    # Before the data starts there is nothing to backfill: partitions there would only
    # show as "missing" and make "Materialize all" backfill empty days.
    data_start: date = var(
        "SOPHIA_DATA_START", date(2026, 8, 26), "First day of the daily partitions."
    )
    step_executor: StepExecutor = var(
        "SOPHIA_STEP_EXECUTOR",
        StepExecutor.MULTIPROCESS,
        "`multiprocess` (steps inside the run) or `k8s` (a Kubernetes Job per step).",
    )
    dagster_home_override: Path | None = var(
        "DAGSTER_HOME",
        None,
        "Dagster instance folder for the CLI's runs (unset: `$SOPHIA_DATA_DIR/dagster_home`).",
    )
    redis_url: SecretStr | None = var(
        "REDIS_URL",
        None,
        "Redis for cache, breakers, rate limits (unset locally: redis://127.0.0.1:6379/0).",
    )
    competitor_catalog: Path | None = var(
        "SOPHIA_COMPETITOR_CATALOG",
        None,
        "YAML/JSON file naming this company's competitors and the systems it integrates "
        "with (unset: the packaged demo catalog).",
    )
    lock_timeout_s: float = var(
        "SOPHIA_LOCK_TIMEOUT_S",
        1800.0,
        "Longest wait for the data directory's writer lock (another run writing) "
        "before a run or the vector-index step fails.",
        ge=0,
    )
    snowflake: SnowflakeSettings = SnowflakeSettings()
    pinecone: PineconeSettings = PineconeSettings()
    airbyte: AirbyteSettings = AirbyteSettings()
    sources: SourceSettings = SourceSettings()
    estuary: EstuarySettings = EstuarySettings()
    alerts: AlertSettings = AlertSettings()
    webhooks: WebhookSettings = WebhookSettings()
    api: ApiSettings = ApiSettings()
    llm: LlmSettings = LlmSettings()

    landing: LandingSettings = LandingSettings()

    @field_validator("profile", mode="before")
    @classmethod
    def _known_profile(cls, value: object) -> Profile:
        raw = str(value).strip().lower()
        try:
            return Profile(raw)
        except ValueError:
            choices = ", ".join(p.value for p in Profile)
            raise ValueError(f"SOPHIA_PROFILE={raw!r} is not one of: {choices}") from None

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("competitor_catalog")
    @classmethod
    def _catalog_file(cls, value: Path | None) -> Path | None:
        # Checked here so a mistyped path fails at load, not in the middle of a run.
        if value is None:
            return None
        path = value.expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"SOPHIA_COMPETITOR_CATALOG={str(value)!r}: no such file")
        return path

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No dotenv or secrets dir: Dagster's own commands load a .env into the process
        # environment, so the environment is the one place a value comes from.
        return (init_settings, EnvironSource(settings_cls))

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def lancedb_dir(self) -> Path:
        return self.data_dir / "lancedb"

    @property
    def webhook_landing_dir(self) -> Path:
        return self.data_dir / "webhooks"

    @property
    def executive_report_path(self) -> Path:
        """Where the report asset writes the executive report (``/reports/executive``)."""
        return self.data_dir / "reports" / "executive_report.html"

    @property
    def dagster_home(self) -> Path:
        return self.dagster_home_override or self.data_dir / "dagster_home"

    @classmethod
    def variables(cls) -> dict[str, FieldInfo]:
        """Every environment variable read, by name, with its field (default, description)."""
        return {name: field for name, (_, field) in _variables(cls).items()}

    def unset(self, names: tuple[str, ...]) -> list[str]:
        """The variables of ``names`` that are not set (KeyError for a name not read here)."""
        paths = _variables(type(self))
        return [n for n in names if _is_unset(self._value_at(paths[n][0]))]

    def _value_at(self, path: tuple[str, ...]) -> object:
        value: object = self
        for attr in path:
            value = getattr(value, attr)
        return value


def _groups(field: FieldInfo) -> type[BaseModel] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _variables(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> dict[str, tuple[tuple[str, ...], FieldInfo]]:
    out: dict[str, tuple[tuple[str, ...], FieldInfo]] = {}
    for name, field in model.model_fields.items():
        group = _groups(field)
        if group is not None:
            out.update(_variables(group, (*prefix, name)))
        else:
            out[str(field.validation_alias)] = ((*prefix, name), field)
    return out


def _is_unset(value: object) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is None or (isinstance(value, str) and not value.strip())


def _read(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        group = _groups(field)
        if group is not None:
            nested = _read(group, environ)
            if nested:
                values[name] = nested
            continue
        raw = environ.get(str(field.validation_alias))
        if raw is not None and raw.strip():
            values[name] = raw
    return values


# The mapping ``load_settings(environ)`` reads instead of ``os.environ``. BaseSettings
# builds its sources inside its constructor, which takes no such argument, and
# model_validate runs that constructor too; so it travels beside the call.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("sophia_environ", default=None)


class EnvironSource(PydanticBaseSettingsSource):
    """Each field, nested or not, from the one variable its alias names; empty is unset."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        given = _ENVIRON.get()
        self.environ = os.environ if given is None else given

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads the whole tree at once (the base class asks for both).
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return _read(self.settings_cls, self.environ)


class SettingsError(ValueError):
    """The environment holds a value that cannot be used; the message names the variable."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``environ`` (default: the process environment), validated."""
    token = _ENVIRON.set(environ)
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None
    finally:
        _ENVIRON.reset(token)


def _explain(exc: ValidationError) -> str:
    fields = {path: (name, f) for name, (path, f) in _variables(Settings).items()}
    lines = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        if err["type"] == "value_error" and "error" in ctx:
            lines.append(str(ctx["error"]))  # our own message already names the variable
            continue
        path = tuple(str(p) for p in err["loc"])
        name, field = fields.get(path, (".".join(path), None))
        # Never echo what might be a secret into an error message (and so into logs).
        secret = field is not None and "SecretStr" in str(field.annotation)
        shown = "" if secret else f"={err['input']!r}"
        lines.append(f"{name}{shown}: {err['msg']}")
    return "; ".join(lines)


# The settings of the definitions being loaded. ``load_from_defs_folder`` calls each
# module's argument-less ``@dg.definitions`` function, so the root sets this around that
# call instead of passing an argument; a ContextVar (not a module global) keeps two loads
# in different threads or tasks apart and is reset when the load ends.
_CURRENT: ContextVar[Settings | None] = ContextVar("sophia_settings", default=None)


@contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    token = _CURRENT.set(settings)
    try:
        yield settings
    finally:
        _CURRENT.reset(token)


def current_settings() -> Settings:
    """The settings the root is loading with; outside a load (one module's ``defs()``
    called on its own, as some tests do) they are read from the environment."""
    active = _CURRENT.get()
    return active if active is not None else load_settings()
