"""Shared fixtures: a real Redis, an isolated data directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sophia_pipeline.sources.registry import raw_tables
from sophia_pipeline.store.snowflake_warehouse import SnowflakeWarehouse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server on a free loopback port, answering PING; (process, url)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed and REDIS_URL is unset (.ci/run installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set; otherwise a private redis-server on a free port."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    proc, url = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def redis_client(redis_url: str):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


# Before every test data set in this suite (2024 onward): the default start
# (settings.DEFAULT_DATA_START) suits a deployment's data, not these fixed test dates.
TEST_DATA_START = "2024-01-01"


@pytest.fixture(autouse=True)
def data_start(monkeypatch: pytest.MonkeyPatch) -> str:
    """The partitions start early enough for every test's dates (SOPHIA_DATA_START)."""
    monkeypatch.setenv("SOPHIA_DATA_START", TEST_DATA_START)
    return TEST_DATA_START


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated SOPHIA_DATA_DIR on the local profile."""
    d = tmp_path / "sophia"
    monkeypatch.setenv("SOPHIA_DATA_DIR", str(d))
    monkeypatch.setenv("SOPHIA_PROFILE", "local")
    return d


@contextmanager
def fakesnow_warehouse(tmp_path: Path) -> Iterator[SnowflakeWarehouse]:
    """The Snowflake warehouse, for real, on fakesnow (Snowflake SQL run by DuckDB), with
    the schema from store/sql/ applied."""
    import fakesnow
    from dagster_snowflake import SnowflakeResource

    (tmp_path / "fakesnow").mkdir(exist_ok=True)
    with fakesnow.patch(db_path=str(tmp_path / "fakesnow")):
        wh = SnowflakeWarehouse(
            snowflake=SnowflakeResource(
                account="acct", user="u", password="p", database="SOPHIA", paramstyle="qmark"
            ),
            raw_tables=raw_tables(),
        )
        with wh.snowflake.get_connection() as con:
            con.cursor().execute("CREATE DATABASE IF NOT EXISTS SOPHIA")
        wh.ensure_schema()
        yield wh
