"""Layering rules checked from the code's own text.

The pipeline's SQL has one home: ``sophia_pipeline/store/`` (its Python modules and the
DDL under ``store/sql/``). No other module of the package, nor the benchmarks, holds an
SQL statement in a string literal; they call a store function instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sophia_pipeline"
STORE = PACKAGE / "store"

# No exception: a module outside the store that needs a query asks the store for it.
ALLOWED_SQL: frozenset[str] = frozenset()

# The start of a statement. SQL keywords are written upper-case throughout the project,
# which keeps English prose ("select the rows from", "delete from the index") out.
SQL_STATEMENT = re.compile(
    r"\bSELECT\s[\s\S]*?\bFROM\b"
    r"|\bINSERT\s+INTO\b"
    r"|\bDELETE\s+FROM\b"
    r"|\bUPDATE\s+\S+\s+SET\b"
    r"|\bMERGE\s+INTO\b"
    r"|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TRANSIENT\s+|TEMP(?:ORARY)?\s+|DYNAMIC\s+)?"
    r"(?:TABLE|VIEW|SCHEMA)\b"
    r"|\bALTER\s+(?:DYNAMIC\s+)?TABLE\b"
    r"|\bDROP\s+(?:TABLE|VIEW|SCHEMA)\b"
    r"|\bTRUNCATE\s+TABLE\b"
)


def string_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal: adjacent literals joined as Python joins
    them, an f-string's replacement fields as ``{}``."""
    found: list[tuple[int, str]] = []
    tree = ast.parse(source)
    inside_fstring = {
        id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                for v in node.values
            )
            found.append((node.lineno, text))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in inside_fstring
        ):
            found.append((node.lineno, node.value))
    return found


def sql_statements(source: str) -> list[tuple[int, str]]:
    """(line, first 60 characters) of every literal that holds an SQL statement."""
    return [
        (line, " ".join(text.split())[:60])
        for line, text in string_literals(source)
        if SQL_STATEMENT.search(text)
    ]


def python_files_outside_store() -> list[Path]:
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    return sorted(p for p in files if STORE not in p.parents)


@pytest.mark.parametrize(
    "snippet",
    [
        '"SELECT chunk_id FROM ops.vector_manifest"',
        '("SELECT a, b " "FROM t WHERE x = ?")',
        'f"SELECT * FROM {table} ORDER BY d"',
        'f"DELETE FROM {t} WHERE {where}"',
        '"INSERT INTO ops.dead_letters (a) VALUES (?)"',
        '"UPDATE ops.alerts SET status = ?"',
        '"MERGE INTO raw.gong_calls USING s ON x"',
        '"CREATE OR REPLACE VIEW v AS SELECT 1"',
        'f"CREATE TRANSIENT TABLE {schema}.{name} LIKE {table}"',
        'f"ALTER DYNAMIC TABLE {name} REFRESH"',
        '"""\n    SELECT run_id\n    FROM ops.embed_runs\n"""',
    ],
)
def test_the_detector_finds_statements(snippet: str) -> None:
    assert sql_statements(f"x = {snippet}\n")


@pytest.mark.parametrize(
    "snippet",
    [
        '"select the rows from the window"',
        '"chunks are deleted from the index by id"',
        '"OPS.DEAD_LETTERS holds what failed"',
        '"create a table per source"',
    ],
)
def test_the_detector_leaves_prose_alone(snippet: str) -> None:
    assert not sql_statements(f"x = {snippet}\n")


def test_no_sql_outside_the_store() -> None:
    offenders = {
        rel: found
        for path in python_files_outside_store()
        if (rel := path.relative_to(ROOT).as_posix()) not in ALLOWED_SQL
        and (found := sql_statements(path.read_text(encoding="utf-8")))
    }
    assert not offenders, (
        "SQL outside sophia_pipeline/store/ (move it into a store function): "
        + "; ".join(
            f"{rel}:{line}: {text}" for rel, hits in offenders.items() for line, text in hits
        )
    )


def test_the_ddl_is_package_data() -> None:
    assert sorted(p.name for p in (STORE / "sql").glob("*.sql"))
    assert not (ROOT / "sql").exists(), "the DDL lives in sophia_pipeline/store/sql/"
