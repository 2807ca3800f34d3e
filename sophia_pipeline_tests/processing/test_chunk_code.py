"""Code chunking: definitions, statement-boundary splits, languages, and the stdlib."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from sophia_pipeline.processing.chunking.base import Chunk, TokenCounterLike
from sophia_pipeline.processing.chunking.code import chunk_code, detect_language, get_code_parser
from sophia_pipeline.processing.tokens import default_counter

from .test_chunk_properties import assert_chunk_contract


@pytest.fixture(scope="module")
def counter() -> TokenCounterLike:
    return default_counter()


def _chunk_with(chunks: list[Chunk], needle: str) -> list[Chunk]:
    return [c for c in chunks if needle in c.text]


@pytest.mark.parametrize("language", ["python", "javascript", "typescript", "tsx", "go", "java"])
def test_grammars_are_installed_locally(language: str) -> None:
    assert get_code_parser(language) is not None


def test_language_from_extension() -> None:
    assert detect_language("a/b/c.py") == "python"
    assert detect_language("x.TSX") == "tsx"
    assert detect_language("main.go") == "go"
    assert detect_language("README") is None


def test_each_top_level_definition_is_its_own_group(counter: TokenCounterLike) -> None:
    text = (
        '"""Module doc."""\n'
        "import os\n\n"
        "X = 1\n\n\n"
        "# Adds things.\n"
        "@decorator\n"
        "def add(a, b):\n"
        "    return a + b\n\n\n"
        "class Box:\n"
        "    def get(self):\n"
        "        return 1\n\n"
        "Y = add(1, 2)\n"
        "Z = 3\n"
    )
    chunks = chunk_code("m", text, counter, path="m.py")
    assert_chunk_contract(chunks, text, counter, "m")
    assert [c.label for c in chunks] == [None, "add", "Box", None]
    assert chunks[0].text == '"""Module doc."""\nimport os\n\nX = 1'
    # The comment directly above a definition belongs with it, decorators too.
    assert chunks[1].text == "# Adds things.\n@decorator\ndef add(a, b):\n    return a + b"
    assert chunks[3].text == "Y = add(1, 2)\nZ = 3"


def _big_class(methods: int, statements: int) -> str:
    body = "\n".join(
        f"        value_{i} = compute_{i}(self, argument_{i})" for i in range(statements)
    )
    parts = ['class Engine(Base):\n    """Runs things."""\n']
    for m in range(methods):
        parts.append(f"    def method_{m}(self, x):\n{body}\n        return x\n")
    return "\n".join(parts)


def test_big_class_splits_at_methods_with_class_signature(counter: TokenCounterLike) -> None:
    text = _big_class(methods=6, statements=8)
    chunks = chunk_code("e", text, counter, language="python")
    assert_chunk_contract(chunks, text, counter)
    assert len(chunks) > 1
    assert all(c.label == "Engine" for c in chunks)
    for c in chunks:
        assert c.text.startswith("class Engine(Base):")
    for m in range(6):
        holders = _chunk_with(chunks, f"def method_{m}(self, x):")
        # A method that fits is never cut: all of it is in one chunk.
        assert any("return x" in c.text.split(f"def method_{m}")[-1] for c in holders)


def test_oversized_function_repeats_its_signature(counter: TokenCounterLike) -> None:
    body = "\n".join(
        f"    total_{i} = helper(total_{i - 1}, {i})  # step {i}" for i in range(1, 120)
    )
    text = f"def long_function(alpha, beta):\n    total_0 = 0\n{body}\n    return total_119\n"
    chunks = chunk_code("f", text, counter, language="python")
    assert_chunk_contract(chunks, text, counter)
    assert len(chunks) >= 3
    for c in chunks:
        assert c.text.startswith("def long_function(alpha, beta):\n")
        # Cut between statements: every body line is a whole statement.
        for line in c.text.splitlines()[1:]:
            assert line.startswith("    total_") or line.startswith("    return")


def test_oversized_method_gets_class_and_method_signatures(counter: TokenCounterLike) -> None:
    text = _big_class(methods=1, statements=150)
    chunks = chunk_code("e", text, counter, language="python")
    assert_chunk_contract(chunks, text, counter)
    for c in chunks[1:]:
        assert c.text.startswith("class Engine(Base):\n    def method_0(self, x):\n")


@pytest.mark.parametrize(
    ("language", "text", "names"),
    [
        (
            "javascript",
            'import x from "y";\n// Doc.\nexport function f(a) {\n  return a;\n}\n'
            "const g = (b) => {\n  return b;\n};\n"
            "class K extends Base {\n  m() { return 1; }\n}\nmodule.exports = { f, g };\n",
            [None, "f", "g", "K", None],
        ),
        (
            "typescript",
            "interface I {\n  a: number;\n}\ntype T = string;\nenum E { A, B }\n"
            "export async function f(a: number): Promise<number> {\n  return a;\n}\n",
            ["I", "T", "E", "f"],
        ),
        (
            "go",
            'package main\n\nimport "fmt"\n\n// F does it.\nfunc F(a int) int {\n\treturn a\n}\n\n'
            "func (r *T) M() {}\n\ntype T struct {\n\tA int\n}\n\nvar x = 1\n",
            [None, "F", "M", "T", None],
        ),
        (
            "java",
            "package p;\nimport java.util.List;\n\n/** Doc. */\n@Ann\npublic class C {\n"
            "  private int x;\n  public int get() { return x; }\n}\n\n"
            "interface I { void run(); }\n",
            [None, "C", "I"],
        ),
    ],
)
def test_definitions_in_other_languages(
    counter: TokenCounterLike, language: str, text: str, names: list[str | None]
) -> None:
    chunks = chunk_code("c", text, counter, language=language)
    assert_chunk_contract(chunks, text, counter)
    assert [c.label for c in chunks] == names


@pytest.mark.parametrize(
    ("language", "opener", "statement"),
    [
        ("javascript", "function run(a) {", "  const v{i} = compute(a, {i});"),
        (
            "typescript",
            "export function run(a: number): number {",
            "  const v{i}: number = compute(a, {i});",
        ),
        ("go", "func Run(a int) int {", "\tv{i} := compute(a, {i}) // café {i}"),
        ("java", "  public int run(int a) {", "    int v{i} = compute(a, {i});"),
    ],
)
def test_oversized_functions_in_other_languages(
    counter: TokenCounterLike, language: str, opener: str, statement: str
) -> None:
    body = "\n".join(statement.format(i=i) for i in range(90))
    text = f"{opener}\n{body}\n  return a;\n}}\n"
    if language == "java":
        text = f"class Holder {{\n{opener}\n{body}\n    return a;\n  }}\n}}\n"
    chunks = chunk_code("c", text, counter, language=language)
    assert_chunk_contract(chunks, text, counter)
    assert len(chunks) >= 3
    for c in chunks[1:]:
        assert opener.strip() in c.text.splitlines()[1 if language == "java" else 0]
        # Continuations start at a statement, never inside one (the Go comment trailing
        # a statement stays on its line).
        first_body_line = c.text.splitlines()[2 if language == "java" else 1]
        assert first_body_line.strip().split()[0] in ("const", "int") or (
            first_body_line.lstrip().startswith("v")
        )


def test_unknown_language_and_syntax_errors_fall_back_to_lines(
    counter: TokenCounterLike,
) -> None:
    text = "".join(f"line {i} of some cobol program\n" for i in range(200))
    chunks = chunk_code("c", text, counter, language="cobol")
    assert_chunk_contract(chunks, text, counter)
    assert all(c.text.endswith("program") for c in chunks)
    broken = "def ok():\n    return 1\n\ndef broken(:\n" + "x = 1\n" * 300
    chunks = chunk_code("b", broken, counter, language="python")
    assert_chunk_contract(chunks, broken, counter)
    assert all(c.label is None for c in chunks)


def test_offsets_are_characters_not_bytes(counter: TokenCounterLike) -> None:
    text = '# Ünïcödé ☃ header\nNAME = "名前"\n\n\ndef f():\n    return "ß"\n'
    chunks = chunk_code("u", text, counter, language="python")
    assert_chunk_contract(chunks, text, counter)
    f = next(c for c in chunks if c.label == "f")
    assert text[f.start : f.end].strip() == 'def f():\n    return "ß"'


def test_blank_source_has_no_chunk(counter: TokenCounterLike) -> None:
    assert chunk_code("x", "\n  \n", counter, language="python") == []


# --- real code nobody here wrote: the standard library --------------------------------

STDLIB_FILES = 30
MAX_FILE_CHARS = 50_000


def _stdlib_files() -> list[Path]:
    """``STDLIB_FILES`` top-level stdlib modules spread evenly over the sorted list."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(root.glob("*.py")) if 1_000 <= p.stat().st_size <= MAX_FILE_CHARS]
    step = max(1, len(files) // STDLIB_FILES)
    return files[::step][:STDLIB_FILES]


def _offsets(source: str) -> tuple[list[str], list[int]]:
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return lines, starts


def _protected_ranges(
    source: str, tree: ast.Module, counter: TokenCounterLike
) -> list[tuple[int, int, str]]:
    """Character ranges no chunk may start strictly inside: every simple statement, and
    every compound statement's header (decorators and signature), except those too big
    to fit in a chunk next to the signature prefix (a third of the budget)."""
    lines, starts = _offsets(source)

    def off(lineno: int, col: int) -> int:
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

    fits = counter.budget * 2 // 3
    out: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        first = min([node, *getattr(node, "decorator_list", [])], key=lambda n: n.lineno)
        start = off(first.lineno, first.col_offset)
        if isinstance(body, list) and body:
            inner = body[0]
            end = (
                starts[inner.lineno - 1]
                if inner.lineno > node.lineno
                else off(inner.lineno, inner.col_offset)
            )
        else:
            assert node.end_lineno is not None and node.end_col_offset is not None
            end = off(node.end_lineno, node.end_col_offset)
        if counter.count(source[start:end]) <= fits:
            out.append((start, end, type(node).__name__))
    return out


def test_stdlib_sources(counter: TokenCounterLike) -> None:
    files = _stdlib_files()
    total_chunks = 0
    definitions = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        chunks = chunk_code(path.name, source, counter, path=str(path))
        assert_chunk_contract(chunks, source, counter, path.name)
        total_chunks += len(chunks)
        tree = ast.parse(source)
        lines = source.splitlines()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                definitions += 1
                def_line = lines[node.lineno - 1].strip()
                assert _chunk_with(chunks, def_line), f"{path.name}: {def_line!r} in no chunk"
                assert any(c.label == node.name for c in chunks), (path.name, node.name)
        protected = _protected_ranges(source, tree, counter)
        for c in chunks[1:]:
            inside = [(s, e, kind) for s, e, kind in protected if s < c.start < e]
            assert not inside, (
                f"{path.name}: chunk {c.ordinal} starts inside a {inside[0][2]}: "
                f"{source[inside[0][0] : inside[0][1]][:120]!r}"
            )
    print(
        f"code chunker: {len(files)} stdlib files, {definitions} top-level definitions, "
        f"{total_chunks} chunks"
    )
    assert len(files) == STDLIB_FILES
    assert definitions >= 100
    assert total_chunks >= len(files)
