"""Fixtures for the security sweep: the misbehaving local HTTP server (fake vendors)."""

from __future__ import annotations

from sophia_pipeline.reliability.breaker import reset_memory_breakers
from sophia_pipeline_tests.reliability.fault_server import fault_server, http_server

__all__ = ["fault_server", "http_server"]

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_memory_breakers() -> None:
    reset_memory_breakers()
