from __future__ import annotations

from pathlib import Path

import pytest

from .landing import make_landing


@pytest.fixture(scope="session")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scale-1 sample landing zone, shared read-only by the tests."""
    return make_landing(tmp_path_factory.mktemp("sample"))
