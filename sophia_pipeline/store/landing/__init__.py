"""The webhook landing store: a small contract (``base``) and its two backends.

- :class:`SQLiteLanding` (``sqlite``): one SQLite database in WAL mode under a local
  folder, for one machine (the default: ``$SOPHIA_DATA_DIR/webhooks``);
- :class:`S3Landing` (``s3``): S3-compatible object storage shared by any number of
  receiver replicas, chosen with ``SOPHIA_LANDING_URL=s3://bucket/prefix``.

``open_landing(settings)`` builds the configured one; the receiver, the sensors, the
raw assets and ``status`` all go through it, so they always agree on where events are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sophia_pipeline.settings import Settings

from .base import (
    LandedEvent,
    LandingBackend,
    LandingError,
    LandingStoreClosedError,
    LegacyLandingError,
    NewEvent,
    RetryLaterError,
    UnstorablePayloadError,
    encode_record,
)
from .sqlite import SQLiteLanding

if TYPE_CHECKING:
    from .s3 import S3Landing


def __getattr__(name: str) -> Any:
    """``S3Landing`` on first use: its module imports boto3 (a quarter second), which only
    an S3 landing needs."""
    if name == "S3Landing":
        from .s3 import S3Landing

        return S3Landing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_landing(settings: Settings, root: str | os.PathLike[str] | None = None) -> LandingBackend:
    """The landing backend the settings name; ``root`` (a folder) forces SQLite there."""
    url = settings.landing.url
    if root is None and url is not None and url.startswith("s3://"):
        from .s3 import S3Landing, make_client

        aws = settings.landing
        client = make_client(
            endpoint_url=aws.aws_endpoint_url,
            access_key_id=aws.aws_access_key_id,
            secret_access_key=aws.aws_secret_access_key.get_secret_value()
            if aws.aws_secret_access_key
            else None,
            session_token=aws.aws_session_token.get_secret_value()
            if aws.aws_session_token
            else None,
            region=aws.aws_region,
            lag_s=aws.lag_s,
        )
        return S3Landing(url, client, lag_s=aws.lag_s)
    if root is None:
        root = Path(url) if url is not None else settings.webhook_landing_dir
    return SQLiteLanding(root)


__all__ = [
    "LandedEvent",
    "LandingBackend",
    "LandingError",
    "LandingStoreClosedError",
    "LegacyLandingError",
    "NewEvent",
    "RetryLaterError",
    "S3Landing",
    "SQLiteLanding",
    "UnstorablePayloadError",
    "encode_record",
    "open_landing",
]
