"""Run the webhook receiver under uvicorn, configured from the environment.

``serve()`` is what the ``sophia-pipeline webhooks`` command calls; ``python -m
sophia_pipeline.webhooks.server`` does the same for tests and benchmarks.

Where events land comes from the settings (``SOPHIA_LANDING_URL``; unset: SQLite under
``$SOPHIA_DATA_DIR/webhooks``) or ``--root``/``--landing-url``. The backend de-duplicates,
not the process, so any number of receivers may share one landing store: several
processes on one machine share the SQLite file, replicas anywhere share an S3 bucket.

The receiver binds loopback by default; a TLS-terminating proxy in front should expose
only ``/webhooks/*`` publicly and keep ``/health``, ``/ready`` and ``/metrics`` internal.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import uvicorn
from starlette.applications import Starlette

from sophia_pipeline.settings import SettingsError, load_settings
from sophia_pipeline.store.landing import LandingError, open_landing
from sophia_pipeline.webhooks.app import (
    DEFAULT_MAX_BODY_BYTES,
    GITHUB_SECRET_ENV,
    SLACK_SECRET_ENV,
    create_app,
)
from sophia_pipeline.webhooks.landing import LandingStore

log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """The receiver cannot start with this configuration; the message says why."""


class StartupError(RuntimeError):
    """uvicorn could not bind or the app's startup (landing store open) failed."""


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line; structured ``extra={"fields": {...}}`` merged in."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_json_logging(level: str = "info", stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())


def build_app(
    *,
    root: str | os.PathLike[str] | None = None,
    landing_url: str | None = None,
    slack_enabled: bool = True,
    github_enabled: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    environ: Mapping[str, str] | None = None,
) -> Starlette:
    """The receiver app with secrets from the settings (read from ``environ``, default the
    process environment); ConfigError if one is missing."""
    try:
        settings = load_settings(environ)
        if landing_url is not None:
            landing = settings.landing.model_copy(update={"url": landing_url})
            settings = settings.model_copy(update={"landing": landing})
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None
    # The receiver checks signatures itself (no Dagster resource), so it holds the values.
    slack = settings.webhooks.slack_signing_secret
    github = settings.webhooks.github_webhook_secret
    slack_secret = slack.get_secret_value() if slack else None
    github_secret = github.get_secret_value() if github else None
    if slack_enabled and slack_secret is None:
        raise ConfigError(
            f"{SLACK_SECRET_ENV} is not set: set it to the Slack app's signing secret, "
            "or disable the Slack endpoint"
        )
    if github_enabled and github_secret is None:
        raise ConfigError(
            f"{GITHUB_SECRET_ENV} is not set: set it to the GitHub webhook secret, "
            "or disable the GitHub endpoint"
        )
    if not slack_enabled and not github_enabled:
        raise ConfigError("both Slack and GitHub endpoints are disabled; nothing to serve")
    try:
        backend = open_landing(settings, root)
    except (LandingError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    return create_app(
        LandingStore(backend),
        slack_secret,
        github_secret,
        max_body_bytes=max_body_bytes,
        slack_enabled=slack_enabled,
        github_enabled=github_enabled,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    root: str | os.PathLike[str] | None = None,
    landing_url: str | None = None,
    slack_enabled: bool = True,
    github_enabled: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_level: str = "info",
    environ: Mapping[str, str] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. Raises ConfigError before binding if misconfigured."""
    app = build_app(
        root=root,
        landing_url=landing_url,
        slack_enabled=slack_enabled,
        github_enabled=github_enabled,
        max_body_bytes=max_body_bytes,
        environ=environ,
    )
    configure_json_logging(log_level)
    if not _is_loopback(host):
        # Senders reach the receiver through a TLS-terminating proxy; a public bind
        # skips it, so make that choice visible.
        log.warning("binding the webhook receiver to a non-loopback address %s", host)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # keep our JSON handler; uvicorn's loggers propagate to it
        log_level=log_level,
        access_log=False,  # the app logs one structured line per request itself
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        # uvicorn logged the cause (e.g. the port is taken).
        raise StartupError("the webhook receiver failed to start; see the log above")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Slack/GitHub webhook receiver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--root", default=None, help="SQLite landing folder (default: settings)")
    parser.add_argument(
        "--landing-url", default=None, help="s3://bucket/prefix (default: SOPHIA_LANDING_URL)"
    )
    parser.add_argument("--no-slack", action="store_true", help="disable /webhooks/slack")
    parser.add_argument("--no-github", action="store_true", help="disable /webhooks/github")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        serve(
            args.host,
            args.port,
            root=args.root,
            landing_url=args.landing_url,
            slack_enabled=not args.no_slack,
            github_enabled=not args.no_github,
            max_body_bytes=args.max_body_bytes,
            log_level=args.log_level,
        )
    except ConfigError as exc:
        print(f"webhook receiver: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"webhook receiver: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
