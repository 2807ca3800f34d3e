"""A real PostgreSQL for tests: the server at 127.0.0.1:5432 when it answers (trust auth,
user ``postgres``), otherwise a private one started with ``initdb``/``pg_ctl`` in a temp
folder. Each test run gets a fresh database, dropped afterwards."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from sophia_pipeline_tests.conftest import free_port

HOST = "127.0.0.1"
USER = "postgres"


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str

    def connect(self, db: str = "postgres"):  # type: ignore[no-untyped-def]
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=db)


def _answers(port: int) -> bool:
    try:
        psycopg2.connect(
            host=HOST, port=port, user=USER, dbname="postgres", connect_timeout=2
        ).close()
        return True
    except psycopg2.OperationalError:
        return False


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    # Debian's postgresql package keeps the server tools off PATH.
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


@contextmanager
def private_server() -> Iterator[Postgres]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.fail("no PostgreSQL at 127.0.0.1:5432 and no initdb (.ci/run installs postgresql)")
    # The server refuses to run as root: as root, run it as an unprivileged account in a
    # folder that account owns (a pytest tmp dir is root-only, so not there).
    run_as: dict[str, int] = {}
    if os.geteuid() == 0:
        account = next(
            (a for a in ("postgres", "nobody") if _has_account(a)),
            None,
        )
        if account is None:
            pytest.fail("running as root with neither a postgres nor a nobody account")
        entry = pwd.getpwnam(account)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid}
    root = Path(tempfile.mkdtemp(prefix="sophia-pg-"))
    data = root / "data"
    if run_as:
        os.chown(root, run_as["user"], run_as["group"])
    port = free_port()
    subprocess.run(
        [initdb, "-D", str(data), "-U", USER, "--auth=trust", "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
        **run_as,  # type: ignore[arg-type]
    )
    opts = f"-p {port} -c listen_addresses={HOST} -k {root} -c fsync=off"
    subprocess.run(
        [pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
        **run_as,  # type: ignore[arg-type]
    )
    try:
        yield Postgres(HOST, port, USER)
    finally:
        subprocess.run(
            [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            **run_as,  # type: ignore[arg-type]
        )
        shutil.rmtree(root, ignore_errors=True)


def _has_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    if _answers(5432):
        yield Postgres(HOST, 5432, USER)
        return
    with private_server() as server:
        yield server


@contextmanager
def fresh_database(server: Postgres) -> Iterator[str]:
    """A new, empty database on ``server``, dropped (with its connections) afterwards."""
    name = f"sophia_test_{uuid.uuid4().hex[:12]}"
    admin = server.connect()
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
