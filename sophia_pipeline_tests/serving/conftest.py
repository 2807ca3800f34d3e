from __future__ import annotations

from collections.abc import Iterator

import pytest

from sophia_pipeline_tests.serving.demo import Demo, materialize_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The sample, every asset materialized once per session (hash embedder)."""
    data_dir = tmp_path_factory.mktemp("serving") / "sophia"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPHIA_DATA_DIR", str(data_dir))
        mp.setenv("SOPHIA_PROFILE", "local")
        mp.setenv("SOPHIA_DATA_START", "2024-01-01")
        mp.delenv("REDIS_URL", raising=False)
        yield materialize_demo(data_dir)
