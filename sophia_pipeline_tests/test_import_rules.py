"""The layering rules of ARCHITECTURE.md, checked from the code's own imports.

Every ``import`` and ``from ... import`` in the package is read with ``ast`` (imports
inside functions included: a lazy import is still a dependency), relative imports
resolved, and each module mapped to its top-level part of the package (``sources``,
``processing``, ``store``, ``defs``, ... or a single module such as ``settings``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = "sophia_pipeline"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ``sophia_pipeline...`` module ``path`` imports, absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from pkg import module`` imports the module too.
            found.update(f"{target}.{a.name}" for a in node.names)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def _part(module: str) -> str:
    """The top-level part of the package a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _existing_modules() -> set[str]:
    return {_module_name(p) for p in ROOT.rglob("*.py")}


def _edges() -> dict[str, set[str]]:
    """module -> the package modules it imports (only names that exist as modules or
    packages: ``from x import function`` leaves ``x.function`` out)."""
    modules = _existing_modules()
    out: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        out[_module_name(path)] = {m for m in _imports(path) if m in modules}
    return out


def _part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in _edges().items():
        for t in targets:
            if _part(t) and _part(module) and _part(t) != _part(module):
                graph[_part(module)].add(_part(t))
    return graph


def _violations(importer_parts: set[str], forbidden: set[str]) -> list[str]:
    return sorted(
        f"{module} imports {t}"
        for module, targets in _edges().items()
        if _part(module) in importer_parts
        for t in targets
        if _part(t) in forbidden
    )


def test_pure_layers_import_no_io_layer() -> None:
    """sources/ and processing/ know nothing of resources, the store or Dagster defs."""
    assert _violations({"sources", "processing"}, {"resources", "store", "defs"}) == []


def test_only_the_root_and_the_cli_import_defs() -> None:
    allowed = {"defs", "definitions", "cli"}
    offenders = _violations(set(_part_graph()) - allowed, {"defs"})
    assert offenders == []


@pytest.mark.parametrize("part", ["sources", "processing", "reliability"])
def test_lower_layers_do_not_import_upward(part: str) -> None:
    assert _violations({part}, {"defs", "definitions", "cli", "webhooks", "serving"}) == []


def test_no_cycle_between_top_level_parts() -> None:
    graph = _part_graph()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert cycles == [], "import cycles between parts of the package: " + "; ".join(
        " -> ".join(c) for c in cycles
    )


def test_the_rules_see_the_imports() -> None:
    """Guards the checker itself: it must find known edges, or every rule above would
    pass vacuously."""
    graph = _part_graph()
    assert "defs" in graph.get("definitions", set())
    assert graph.get("defs"), "defs imports nothing?"


def test_the_receiver_only_lands_events() -> None:
    """webhooks/ verifies and lands events: it reads no table and builds no resource. Of
    the store it uses only its landing store (``store/landing``, ARCHITECTURE.md's
    "webhooks -> its landing store")."""
    offenders = _violations({"webhooks"}, {"store", "resources", "defs", "processing"})
    landing = f"{PACKAGE}.store.landing"
    assert [
        o
        for o in offenders
        if not (t := o.split(" imports ")[1]).startswith(landing + ".") and t != landing
    ] == []


def test_the_store_knows_nothing_of_dagster_or_resources() -> None:
    assert _violations({"store"}, {"defs", "resources", "webhooks", "cli"}) == []


def test_serving_reads_the_stores_and_imports_no_ingestion_code() -> None:
    """serving/ (the read API) depends on the store, the resources, the reliability
    library, the settings, the shared document schema and the extractive-text helpers;
    never on Dagster defs, the CLI, or the ingestion code (sources, processing, sample,
    webhooks)."""
    allowed = {
        "serving",
        "store",
        "resources",
        "reliability",
        "settings",
        "documents",
        "extractive",
    }
    offenders = sorted(
        f"{module} imports {t}"
        for module, targets in _edges().items()
        if _part(module) == "serving"
        for t in targets
        if _part(t) and _part(t) not in allowed  # "": `from sophia_pipeline import x`
    )
    assert offenders == []
    assert "store" in _part_graph().get("serving", set()), "the rule sees no serving import?"
