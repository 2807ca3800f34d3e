"""Syntax-aware chunking for source code (tree-sitter).

Each top-level definition (function, class, interface, type, ...) with the comments
directly above it becomes its own chunk group; module-level code between definitions is
packed into chunks of its own. A definition over the token budget is cut at the
statement boundaries of its body (the children of its body block, then the clauses that
follow it, such as ``elif``/``except``), recursively, and every continuation piece
starts with the signature lines that enclose it::

    class Parser:
        def feed(self, data):
    <the statements of feed from the cut on>

so a method of a big class, or the tail of a long function, still says where it lives.
Only a single statement that cannot fit alone is cut inside (at lines, then sentences,
words, characters). Unknown languages, missing grammars and files with syntax errors fall
back to packing whole lines.

Grammars come from the per-language wheels (``tree-sitter-python`` & co., compiled
grammars inside the package, pinned in pyproject.toml); nothing is ever downloaded.
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING

from .base import Chunk, Piece, Render, TokenCounterLike, pack_spans

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

# Enclosing signatures may take at most this share of the budget on a continuation piece.
SIGNATURE_SHARE = 3
_MAX_SIGNATURE_CHARS = 200
_MAX_DEPTH = 40

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".java": "java",
}
_ALIASES = {
    "py": "python",
    "js": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "golang": "go",
    "node": "javascript",
}

# language -> (module of its grammar wheel, function returning the language pointer)
_WHEELS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
}

_DEFINITIONS = frozenset(
    {
        "function_definition",
        "class_definition",
        "decorated_definition",  # python
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "enum_declaration",
        "type_alias_declaration",
        "internal_module",
        "module",
        "ambient_declaration",
        "method_declaration",
        "type_declaration",  # go
        "record_declaration",
        "annotation_type_declaration",  # java
    }
)
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function", "class"}
)
# Nodes whose named children are the cut points of an oversized construct.
_BODIES = frozenset(
    {
        "block",
        "statement_block",
        "class_body",
        "interface_body",
        "object_type",
        "enum_body",
        "field_declaration_list",
        "constructor_body",
        "declaration_list",
        "switch_body",
        "switch_block",
        "annotation_type_body",
        "enum_body_declarations",
        # big literals (tables of data) are cut between their elements
        "dictionary",
        "list",
        "set",
        "tuple",
        "object",
        "array",
        "literal_value",
        "array_initializer",
        "argument_list",
        "arguments",
    }
)
_BODY_FIELDS = ("body", "consequence", "definition", "declaration", "value", "right", "type")
_COMMENTS = frozenset({"comment", "line_comment", "block_comment", "html_comment"})
_DEF_WORDS = ("function", "class", "method", "struct", "impl", "interface", "enum", "trait")


def detect_language(path: str | None) -> str | None:
    """The language for a file name by its extension, ``None`` when unknown."""
    if not path:
        return None
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def normalize_language(language: str | None) -> str | None:
    if not language:
        return None
    lang = language.strip().lower()
    return _ALIASES.get(lang, lang)


@lru_cache(maxsize=32)
def get_code_parser(language: str) -> Parser | None:
    """A tree-sitter parser for ``language``, or ``None`` when no grammar is installed.

    The grammar version is pinned by the installed wheel, which keeps chunk boundaries
    (and so embeddings) stable across machines."""
    import tree_sitter

    wheel = _WHEELS.get(language)
    if wheel is not None:
        try:
            module = importlib.import_module(wheel[0])
            return tree_sitter.Parser(tree_sitter.Language(getattr(module, wheel[1])()))
        except (ImportError, AttributeError, ValueError):
            return None
    return None


def chunk_code(
    doc_id: str,
    text: str,
    counter: TokenCounterLike,
    language: str | None = None,
    path: str | None = None,
) -> list[Chunk]:
    """Chunks source code by definitions (see the module docstring).

    ``language`` wins over ``path``'s extension. The chunks' spans tile ``[0, len(text))``
    in order; a text with no visible character yields no chunk. A chunk's label is the
    name of the top-level definition it belongs to, ``None`` for module-level code.
    """
    if not text.strip():
        return []
    lang = normalize_language(language) or detect_language(path)
    parser = get_code_parser(lang) if lang else None
    pieces: list[tuple[Piece, str | None]] | None = None
    if parser is not None:
        data = text.encode("utf-8", errors="surrogatepass")
        tree = parser.parse(data)
        if not tree.root_node.has_error:
            pieces = _Splitter(text, data, counter).module(tree.root_node)
    if pieces is None:
        render = _Splitter(text, b"", counter).renderer(())
        pieces = [(p, None) for p in _line_pieces(text, 0, len(text), counter, render)]
    return [
        Chunk(doc_id, i, p.text, p.start, p.end, p.tokens, label=label)
        for i, (p, label) in enumerate(pieces)
    ]


# Code keeps its indentation: only the blank lines around a span are dropped.
_LEADING_BLANK_LINES = re.compile(r"^(?:[ \t]*\r?\n)+")

# (signature, start of the span whose opening line it is), outermost first
_Sigs = tuple[tuple[str, int], ...]


def _line_pieces(
    text: str, start: int, end: int, counter: TokenCounterLike, render: Render
) -> list[Piece]:
    spans: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].splitlines(keepends=True):
        spans.append((pos, pos + len(line)))
        pos += len(line)
    return pack_spans(text, spans, counter, render)


class _Splitter:
    def __init__(self, text: str, data: bytes, counter: TokenCounterLike) -> None:
        self.text = text
        self.counter = counter
        self._prefixes: dict[tuple[str, ...], str] = {}
        # tree-sitter speaks UTF-8 byte offsets; chunks speak character offsets.
        if not data or len(data) == len(text):
            self._b2c: list[int] | None = None
        else:
            b2c = [0] * (len(data) + 1)
            pos = 0
            for i, ch in enumerate(text):
                n = len(ch.encode("utf-8", errors="surrogatepass"))
                for k in range(n):
                    b2c[pos + k] = i
                pos += n
            b2c[pos] = len(text)
            self._b2c = b2c

    # --- offsets ---------------------------------------------------------------------

    def _c(self, byte: int) -> int:
        return byte if self._b2c is None else self._b2c[byte]

    def start(self, node: Node) -> int:
        return self._c(node.start_byte)

    def line_start(self, pos: int) -> int:
        """``pos`` moved back to its line's start when only indentation precedes it."""
        ls = self.text.rfind("\n", 0, pos) + 1
        return ls if not self.text[ls:pos].strip() else pos

    def fits(self, rendered: str) -> bool:
        return self.counter.count(rendered) <= self.counter.budget

    # --- the module --------------------------------------------------------------------

    def module(self, root: Node) -> list[tuple[Piece, str | None]]:
        nodes = _without_trailing_comments(list(root.named_children))
        if not nodes:
            render = self.renderer(())
            return [
                (p, None) for p in _line_pieces(self.text, 0, len(self.text), self.counter, render)
            ]
        groups = self._groups(nodes)
        bounds = [self.line_start(self.start(g[0])) for g in groups]
        bounds[0] = 0
        bounds.append(len(self.text))
        for k in range(1, len(bounds)):
            bounds[k] = max(bounds[k], bounds[k - 1])
        out: list[tuple[Piece, str | None]] = []
        k = 0
        while k < len(groups):
            if self._is_definition(groups[k][-1]):
                node = groups[k][-1]
                name = _name(node)
                for p in self.split(node, bounds[k], bounds[k + 1], (), 0):
                    out.append((p, name))
                k += 1
                continue
            # Consecutive module-level statements pack together.
            j = k
            while j + 1 < len(groups) and not self._is_definition(groups[j + 1][-1]):
                j += 1
            units: list[tuple[int, int, Node | None]] = [
                (bounds[i], bounds[i + 1], groups[i][-1]) for i in range(k, j + 1)
            ]
            out.extend((p, None) for p in self.emit_units(units, (), 0))
            k = j + 1
        return out

    def _groups(self, nodes: list[Node]) -> list[list[Node]]:
        """Top-level nodes, each comment run directly above a definition (no blank line
        between) joined to it: a doc comment belongs with what it documents."""
        groups: list[list[Node]] = []
        pending: list[Node] = []
        for node in nodes:
            if node.type in _COMMENTS:
                if pending and node.start_point[0] > pending[-1].end_point[0] + 1:
                    groups.extend([c] for c in pending)
                    pending = []
                pending.append(node)
                continue
            if (
                pending
                and self._is_definition(node)
                and (node.start_point[0] <= pending[-1].end_point[0] + 1)
            ):
                groups.append([*pending, node])
            else:
                groups.extend([c] for c in pending)
                groups.append([node])
            pending = []
        groups.extend([c] for c in pending)
        return groups

    def _is_definition(self, node: Node) -> bool:
        t = node.type
        if t in _DEFINITIONS:
            return True
        if t in ("export_statement", "expression_statement"):
            return any(self._is_definition(c) for c in node.named_children)
        if t in ("lexical_declaration", "variable_declaration"):
            for decl in node.named_children:
                value = decl.child_by_field_name("value")
                if value is not None and value.type in _FUNCTION_VALUES:
                    return True
            return False
        if t in _FUNCTION_VALUES:
            return True
        # Grammars from the language pack: their definition nodes follow this naming.
        return t.endswith(("_definition", "_declaration", "_item")) and any(
            w in t for w in _DEF_WORDS
        )

    # --- splitting -----------------------------------------------------------------------

    def prefix(self, sigs: tuple[str, ...]) -> str:
        """The enclosing signatures as a prefix within ``budget / SIGNATURE_SHARE`` tokens:
        the outermost go first, then the innermost is cut by characters."""
        if not sigs:
            return ""
        cached = self._prefixes.get(sigs)
        if cached is not None:
            return cached
        limit = max(8, self.counter.budget // SIGNATURE_SHARE)
        parts = list(sigs)
        out: str | None = None
        while parts:
            cand = "\n".join(parts) + "\n"
            if self.counter.count(cand) <= limit:
                out = cand
                break
            if len(parts) == 1:
                break
            parts = parts[1:]
        if out is None:
            own = parts[0]
            lo, hi = 0, len(own)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self.counter.count(own[:mid] + "…\n") <= limit:
                    lo = mid
                else:
                    hi = mid - 1
            out = own[:lo] + "…\n"
        self._prefixes[sigs] = out
        return out

    def renderer(self, sigs: _Sigs) -> Render:
        """A piece's prefix holds the signatures of the constructs it is inside of whose
        opening line it does not itself contain (it starts after their span's start)."""

        def render(a: int, b: int) -> str:
            prefix = self.prefix(tuple(sig for sig, st in sigs if a > st))
            return prefix + _LEADING_BLANK_LINES.sub("", self.text[a:b]).rstrip()

        return render

    def split(self, node: Node, s: int, e: int, sigs: _Sigs, depth: int) -> list[Piece]:
        """Pieces tiling ``[s, e)`` (which holds ``node``): the whole span when it fits,
        otherwise cut at the statements of ``node``'s body."""
        render = self.renderer(sigs)
        whole = render(s, e)
        if self.fits(whole):
            return [Piece(s, e, whole, self.counter.count(whole))]
        body = _find_body(node) if depth < _MAX_DEPTH else None
        elements = _elements(body, node) if body is not None else []
        if body is None or not elements:
            return _line_pieces(self.text, s, e, self.counter, render)
        sig = self.signature(body)
        inner = (*sigs, (sig, s)) if sig else sigs
        bounds = [self.line_start(self.start(n)) for n in elements]
        bounds = [min(max(b, s), e) for b in bounds]
        for k in range(1, len(bounds)):
            bounds[k] = max(bounds[k], bounds[k - 1])
        bounds.append(e)
        units: list[tuple[int, int, Node | None]] = [
            (bounds[k], bounds[k + 1], n)
            for k, n in enumerate(elements)
            if bounds[k + 1] > bounds[k]
        ]
        if units and units[0][0] > s:
            a, b, first = units[0]
            # The header (decorators, signature) is packed with the first statement when
            # they fit together; it stands alone only when that statement fits alone but
            # not with it, and rides with a first statement that must be cut anyway.
            if self.fits(self.renderer(inner)(a, b)):
                units.insert(0, (s, a, None))
            else:
                units[0] = (s, b, first)
        return self.emit_units(units, inner, depth + 1)

    def emit_units(
        self, units: list[tuple[int, int, Node | None]], sigs: _Sigs, depth: int
    ) -> list[Piece]:
        """Packs consecutive units that fit; a unit that does not fit alone is split on
        its own (so a statement is cut only when it alone is over the budget)."""
        render = self.renderer(sigs)
        out: list[Piece] = []
        run: list[tuple[int, int]] = []

        def flush() -> None:
            if run:
                out.extend(pack_spans(self.text, run, self.counter, render))
                run.clear()

        for a, b, node in units:
            if self.fits(render(a, b)):
                run.append((a, b))
                continue
            flush()
            if node is None:
                out.extend(_line_pieces(self.text, a, b, self.counter, render))
            else:
                out.extend(self.split(node, a, b, sigs, depth))
        flush()
        return out

    def signature(self, body: Node) -> str:
        """The line(s) that open ``body``, whitespace collapsed: ``def feed(self, data):``,
        ``public void run() {``, ``x = {``, with the indentation of their first line."""
        owner = body.parent if body.parent is not None else body
        name = owner.child_by_field_name("name")
        # From the start of the name's line: Java annotations and Python decorators above
        # it are noise, while "const f = " before an arrow function is its name.
        anchor = self.start(name) if name is not None else self.start(owner)
        ls = self.text.rfind("\n", 0, anchor) + 1
        indent = self.text[ls : ls + len(self.text[ls:anchor]) - len(self.text[ls:anchor].lstrip())]
        head = self.text[ls : self.start(body)]
        opener = body.children[0].type if body.children else ""
        if opener in ("{", "[", "(") and not body.children[0].is_named:
            head += opener
        head = re.sub(r"\s+", " ", head).strip()
        if len(head) > _MAX_SIGNATURE_CHARS:
            head = head[: _MAX_SIGNATURE_CHARS - 1] + "…"
        return indent + head if head else ""


def _find_body(node: Node) -> Node | None:
    """The node whose children are ``node``'s cut points: its body block, reached
    through wrappers (decorators, ``export``, ``const f = () => {...}``), else the
    biggest child that leads to one."""
    cur = node
    for _ in range(12):
        if cur.type in _BODIES and cur.named_child_count:
            return cur
        nxt = None
        for f in _BODY_FIELDS:
            c = cur.child_by_field_name(f)
            if c is not None and c.named_child_count:
                nxt = c
                break
        if nxt is None:
            named = [c for c in cur.named_children if c.named_child_count]
            if not named:
                return None
            nxt = max(named, key=lambda c: c.end_byte - c.start_byte)
        cur = nxt
    return None


def _same(a: Node, b: Node) -> bool:
    return bool(a.start_byte == b.start_byte and a.end_byte == b.end_byte and a.type == b.type)


def _elements(body: Node, node: Node) -> list[Node]:
    """The statements (members, elements) of ``body``, then the clauses after it inside
    ``node`` (``elif``/``else``/``except``/``finally``)."""
    items = list(body.named_children)
    # Go wraps a block's statements in one statement_list.
    if len(items) == 1 and items[0].type == "statement_list":
        items = list(items[0].named_children)
    parent = body.parent
    if parent is not None and not _same(body, node):
        after = False
        for c in parent.named_children:
            if after:
                items.append(c)
            elif _same(c, body):
                after = True
    return _without_trailing_comments(items)


def _without_trailing_comments(nodes: list[Node]) -> list[Node]:
    """Drops comments that end the line of the node before them (``x = 1  # why``): they
    are no cut point, and the span of the node before them already reaches past them."""
    out: list[Node] = []
    for n in nodes:
        if out and n.type in _COMMENTS and n.start_point[0] == out[-1].end_point[0]:
            continue
        out.append(n)
    return out


def _name(node: Node) -> str | None:
    """The declared name of a definition, looking through wrappers."""
    queue = [node]
    for _ in range(12):
        if not queue:
            return None
        cur = queue.pop(0)
        name = cur.child_by_field_name("name")
        if name is not None and name.text is not None:
            return name.text.decode("utf-8", errors="replace")
        queue.extend(c for c in cur.named_children if c.type not in _BODIES)
    return None
