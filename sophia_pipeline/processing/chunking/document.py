"""Semantic-section chunking for Markdown, reStructuredText-ish, plain and HTML-stripped text.

The document is cut at headings first (ATX ``#`` headings, setext/RST underlined and
overlined titles), each section's body at blank-line paragraphs, and a paragraph that
cannot fit alone at its lines (lists, tables, fenced code) or sentences, then words, then
characters (``pack_spans``). Every chunk's text starts with its heading path
("Install > Linux: ") so that it stands alone in a vector search; the prefix is counted
toward the token budget, and a section's own heading line is dropped from its body
because the prefix already says it.

Lines that say nothing, YAML front matter and thematic breaks (``------``, ``***``),
are left out of chunk texts, and a chunk whose span holds nothing else joins the chunk
before it (or after it, at the start), so no chunk is only a rule or front matter. A
Markdown table cut between its rows repeats its header row (and separator) at the top of
every piece that starts inside it, so each row still says what its cells are.

Offsets point into the text given to ``chunk_document``; for HTML that is the output of
``html_to_text``, which renders headings as ATX lines so the same sectioning applies.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

from .base import Chunk, Render, TokenCounterLike, pack_spans

# A heading path longer than this share of the budget would starve the body of room.
PREFIX_SHARE = 4

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_UNDERLINE = re.compile(r"^ {0,3}([=\-~^*+#\"'])\1{2,}[ \t]*$")
_STRUCTURED_LINE = re.compile(r"^\s*(?:[-*+•]\s|\d{1,3}[.)]\s|\||>|\t| {4})")
_WS = re.compile(r"\s+")
# A thematic break: three or more of one of - * _ (= ~ too, as plain-text rules), spaced
# or not, alone on a line; or a reStructuredText grid table's border ("+----+---+").
_RULE = re.compile(r"^ {0,3}(?:([-*_=~])(?:[ \t]*\1){2,}|\+(?:[-=]{2,}\+)+)[ \t]*$")
# The delimiter row under a Markdown table's header: "|---|:--:|", "--- | ---".
_TABLE_SEP = re.compile(
    r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$|^\s*\|\s*:?-{3,}:?\s*\|\s*$"
)


@dataclass
class _Heading:
    start: int  # first character of the heading's first line (the overline for RST)
    end: int  # just past the newline closing its last line
    level: int
    title: str


@dataclass
class _Section:
    start: int
    end: int
    path: list[str]
    heading: _Heading | None
    blocks: list[tuple[int, int]] = field(default_factory=list)  # non-blank line runs
    # (start, end, depth) of heading lines the prefix may stand in for: the section's own
    # and those of empty ancestors merged into it; depth indexes ``path``.
    titled: list[tuple[int, int, int]] = field(default_factory=list)


def chunk_document(
    doc_id: str, text: str, counter: TokenCounterLike, *, title: str | None = None
) -> list[Chunk]:
    """Chunks ``text`` by heading sections, then paragraphs, then sentences.

    ``title`` (e.g. a Linear issue's title) becomes the root of every heading path. A text
    with no visible character yields no chunk; otherwise the chunks' spans tile
    ``[0, len(text))`` exactly, in order.
    """
    if not text.strip():
        return []
    lines = _lines(text)
    headings, fenced = _find_headings(text, lines)
    sections = _sections(text, lines, headings, fenced, [title.strip()] if title else [])
    junk = _junk_lines(text, lines, headings, fenced)
    chunks = _cut(doc_id, text, sections, junk, counter)
    kept = _absorb_junk(text, chunks, junk)
    # A text that is nothing but front matter or rules still yields chunks (of itself).
    return kept if kept else _cut(doc_id, text, sections, [], counter)


def _cut(
    doc_id: str,
    text: str,
    sections: list[_Section],
    junk: list[tuple[int, int]],
    counter: TokenCounterLike,
) -> list[Chunk]:
    chunks: list[Chunk] = []
    for sec in sections:
        for start, end, body, tokens in _pack_section(text, sec, counter, junk):
            label = " > ".join(sec.path) or None
            chunks.append(Chunk(doc_id, len(chunks), body, start, end, tokens, label=label))
    return chunks


def _junk_lines(
    text: str, lines: list[tuple[int, int]], headings: list[_Heading], fenced: set[int]
) -> list[tuple[int, int]]:
    """Spans of the lines that carry no words: the front matter block and thematic
    breaks outside code and headings (a setext underline is part of its heading)."""
    fm = _front_matter_end(text, lines)
    out = [(lines[0][0], lines[fm - 1][1])] if fm else []
    in_heading = [(h.start, h.end) for h in headings]
    for i in range(fm, len(lines)):
        s, e = lines[i]
        if i in fenced or not _RULE.match(_content(text, lines[i])):
            continue
        if any(hs <= s < he for hs, he in in_heading):
            continue
        out.append((s, e))
    return out


_WORD_CHAR = re.compile(r"\w")


def _has_words(text: str, s: int, e: int, junk: list[tuple[int, int]]) -> bool:
    """Whether ``[s, e)`` holds a letter or digit outside the junk lines: a span of
    bare punctuation (a table border, a closing "-->", a long RST underline) says
    nothing a search could match."""
    pos = s
    for js, je in junk:
        if je <= pos or js >= e:
            continue
        if _WORD_CHAR.search(text, pos, max(pos, js)):
            return True
        pos = max(pos, je)
    return bool(_WORD_CHAR.search(text, pos, e)) if pos < e else False


def _absorb_junk(text: str, chunks: list[Chunk], junk: list[tuple[int, int]]) -> list[Chunk]:
    """Chunks whose span holds only junk lines, blanks and punctuation merged into the
    chunk before (the first such run into the chunk after), renumbered; the spans
    still tile."""
    out: list[Chunk] = []
    carry_start: int | None = None
    for c in chunks:
        if not _has_words(text, c.start, c.end, junk):
            if out:
                out[-1] = replace(out[-1], end=c.end)
            elif carry_start is None:
                carry_start = c.start
            continue
        if carry_start is not None:
            c = replace(c, start=carry_start)
            carry_start = None
        out.append(replace(c, ordinal=len(out)))
    return out


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, its newline included, tiling the text."""
    out: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        out.append((pos, pos + len(line)))
        pos += len(line)
    return out


def _content(text: str, span: tuple[int, int]) -> str:
    return text[span[0] : span[1]].rstrip("\r\n")


def _find_headings(text: str, lines: list[tuple[int, int]]) -> tuple[list[_Heading], set[int]]:
    """Headings in document order, and the indexes of lines inside fenced code (which
    never hold headings, though a shell comment there looks like one)."""
    headings: list[_Heading] = []
    fenced: set[int] = set()
    # Underline styles rank by first appearance, as reStructuredText defines them.
    styles: list[str] = []
    fence: str | None = None
    blank_before = True  # the previous line is blank (or there is none)
    i = _front_matter_end(text, lines)
    fenced.update(range(i))
    while i < len(lines):
        line = _content(text, lines[i])
        if fence is not None:
            fenced.add(i)
            if line.strip().startswith(fence):
                fence = None
            i += 1
            blank_before = False
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)[0] * 3
            fenced.add(i)
            i += 1
            blank_before = False
            continue
        nxt = _content(text, lines[i + 1]) if i + 1 < len(lines) else None
        after = _content(text, lines[i + 2]) if i + 2 < len(lines) else None
        over = _UNDERLINE.match(line)
        if (
            over
            and blank_before
            and nxt is not None
            and nxt.strip()
            and after is not None
            and (under := _UNDERLINE.match(after))
            and under.group(1) == over.group(1)
        ):
            level = _style_level(styles, "over" + over.group(1))
            headings.append(_Heading(lines[i][0], lines[i + 2][1], level, nxt.strip()))
            i += 3
            blank_before = False
            continue
        if (
            blank_before
            and line.strip()
            and nxt is not None
            and len(line.strip()) <= 200
            and not _ATX.match(line)
            and (under := _UNDERLINE.match(nxt))
        ):
            level = _style_level(styles, under.group(1))
            headings.append(_Heading(lines[i][0], lines[i + 1][1], level, line.strip()))
            i += 2
            blank_before = False
            continue
        m = _ATX.match(line)
        if m:
            headings.append(_Heading(lines[i][0], lines[i][1], len(m.group(1)), m.group(2) or ""))
            i += 1
            # An ATX heading closes its paragraph, so a setext title may follow directly.
            blank_before = True
            continue
        blank_before = not line.strip()
        i += 1
    return headings, fenced


def _front_matter_end(text: str, lines: list[tuple[int, int]]) -> int:
    """Index of the first line after a YAML front-matter block, 0 when there is none:
    its dashed fences would otherwise read as an RST overlined title."""
    if not lines or _content(text, lines[0]).strip() != "---":
        return 0
    for i in range(1, min(len(lines), 200)):
        if _content(text, lines[i]).strip() in ("---", "..."):
            return i + 1
    return 0


def _style_level(styles: list[str], style: str) -> int:
    if style not in styles:
        styles.append(style)
    return styles.index(style) + 1


def _clean_title(title: str) -> str:
    return _WS.sub(" ", title).strip().rstrip(":").strip()


def _sections(
    text: str,
    lines: list[tuple[int, int]],
    headings: list[_Heading],
    fenced: set[int],
    root: list[str],
) -> list[_Section]:
    """One section per heading (plus the preamble), each with its heading path and its
    body's blocks. A heading with an empty body whose next heading is its descendant
    joins that section, so "# Install\\n## Linux" makes one "Install > Linux" section."""
    raw: list[_Section] = []
    stack: list[tuple[int, str]] = []
    first = headings[0].start if headings else len(text)
    if text[:first].strip():
        raw.append(_Section(0, first, list(root), None))
    for k, h in enumerate(headings):
        while stack and stack[-1][0] >= h.level:
            stack.pop()
        stack.append((h.level, _clean_title(h.title)))
        end = headings[k + 1].start if k + 1 < len(headings) else len(text)
        path = _dedupe(root + [t for _, t in stack if t])
        sec = _Section(h.start, end, path, h)
        if _clean_title(h.title):
            sec.titled.append((h.start, h.end, len(path) - 1))
        raw.append(sec)
    if not raw:
        return []
    # The preamble may be absent while text before the first heading is blank: the
    # first section then starts at 0 so the tiling still begins there.
    raw[0].start = 0
    line_starts = [s for s, _ in lines]
    for sec in raw:
        body_start = sec.heading.end if sec.heading else sec.start
        sec.blocks = _blocks(text, lines, line_starts, fenced, body_start, sec.end)

    merged: list[_Section] = []
    pending: _Section | None = None
    for k, sec in enumerate(raw):
        nxt = raw[k + 1] if k + 1 < len(raw) else None
        if pending is not None:
            sec.start = pending.start
            sec.titled = pending.titled + sec.titled
            pending = None
        is_parent = (
            nxt is not None
            and len(nxt.path) > len(sec.path)
            and nxt.path[: len(sec.path)] == sec.path
        )
        if not sec.blocks and is_parent:
            pending = sec
            continue
        merged.append(sec)
    return merged


def _dedupe(path: list[str]) -> list[str]:
    """The path without a heading that repeats its parent: a Linear issue titled
    "ENG-42: Login fails" whose body opens "# Login fails" says it once."""
    out: list[str] = []
    for t in path:
        if out and (t == out[-1] or out[-1].endswith(": " + t)):
            continue
        out.append(t)
    return out


def _blocks(
    text: str,
    lines: list[tuple[int, int]],
    line_starts: list[int],
    fenced: set[int],
    start: int,
    end: int,
) -> list[tuple[int, int]]:
    """Runs of non-blank lines in ``[start, end)``; a fenced code block is one run even
    across its blank lines, so code is never cut at a blank line when it fits."""

    out: list[tuple[int, int]] = []
    i = bisect.bisect_left(line_starts, start)
    cur: tuple[int, int] | None = None
    while i < len(lines) and lines[i][0] < end:
        s, e = lines[i]
        blank = not text[s:e].strip() and i not in fenced
        if blank:
            if cur is not None:
                out.append(cur)
                cur = None
        else:
            cur = (cur[0], e) if cur is not None else (s, e)
        i += 1
    if cur is not None:
        out.append(cur)
    return out


def _prefix(path: list[str], counter: TokenCounterLike) -> tuple[str, int]:
    """The rendered heading path within ``budget / PREFIX_SHARE`` tokens, and the index of
    the first path element it holds whole (heading lines from there on may be dropped
    from the body; ``len(path)`` when none is whole).

    When the path is too long the outermost headings are elided first ("… > Linux: "),
    then a single heading still too long is cut by characters."""
    if not path:
        return "", 0
    limit = max(8, counter.budget // PREFIX_SHARE)
    first = 0
    while True:
        head = ("… > " if first else "") + " > ".join(path[first:])
        cand = head + ": "
        if counter.count(cand) <= limit:
            return cand, first
        if first == len(path) - 1:
            break
        first += 1
    elided = first > 0
    own = path[-1]
    lo, hi = 0, len(own)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter.count(("… > " if elided else "") + own[:mid] + "…: ") <= limit:
            lo = mid
        else:
            hi = mid - 1
    return ("… > " if elided else "") + own[:lo] + "…: ", len(path)


def _tables(
    text: str, lines: list[tuple[int, int]], start: int, end: int
) -> list[tuple[int, int, int]]:
    """(header start, body start, table end) of each Markdown table in ``[start, end)``:
    a row with a pipe, the delimiter row under it, and the piped rows that follow."""
    out: list[tuple[int, int, int]] = []
    i = bisect.bisect_left([s for s, _ in lines], start)
    while i + 1 < len(lines) and lines[i + 1][1] <= end:
        head, sep = _content(text, lines[i]), _content(text, lines[i + 1])
        if "|" in head and head.strip() and _TABLE_SEP.match(sep):
            j = i + 2
            while j < len(lines) and lines[j][0] < end and "|" in _content(text, lines[j]):
                j += 1
            out.append((lines[i][0], lines[i + 1][1], lines[j - 1][1]))
            i = j
            continue
        i += 1
    return out


def _pack_section(
    text: str, sec: _Section, counter: TokenCounterLike, junk: list[tuple[int, int]]
) -> list[tuple[int, int, str, int]]:
    prefix, first_whole = _prefix(sec.path, counter)
    label_only = prefix[:-2] if prefix else ""
    # A heading line repeats what the prefix says; it stays in the body only when the
    # prefix had to elide or cut it. Junk lines (front matter, rules) never say anything.
    drops = sorted(
        [(s, e) for s, e, depth in sec.titled if depth >= first_whole]
        + [(s, e) for s, e in junk if s < sec.end and e > sec.start]
    )
    # A piece starting inside a table's rows repeats the table's header, when that
    # leaves room for rows.
    tables = [
        (hs, bs, te, text[hs:bs].strip())
        for hs, bs, te in _tables(text, _lines(text), sec.start, sec.end)
        if counter.count(prefix + text[hs:bs]) <= counter.budget // 2
    ]

    def render(s: int, e: int) -> str:
        head = next((h for hs, bs, te, h in tables if bs <= s < te), None)
        body = _body(s, e)
        if head and body:
            return prefix + head + "\n" + body
        return prefix + body if body else label_only

    def _body(s: int, e: int) -> str:
        parts: list[str] = []
        pos = s
        for ds, de in drops:
            if ds < e and de > pos:
                parts.append(text[pos : max(pos, ds)])
                pos = min(e, max(pos, de))
        parts.append(text[pos:e])
        return "".join(parts).strip()

    spans: list[tuple[int, int]] = [] if sec.blocks else [(sec.start, sec.end)]
    for k, (bs, _be) in enumerate(sec.blocks):
        s = sec.start if k == 0 else bs
        e = sec.blocks[k + 1][0] if k + 1 < len(sec.blocks) else sec.end
        spans.extend(_block_spans(text, s, bs, e, counter, render))
    return [(p.start, p.end, p.text, p.tokens) for p in pack_spans(text, spans, counter, render)]


def _block_spans(
    text: str, s: int, bs: int, e: int, counter: TokenCounterLike, render: Render
) -> list[tuple[int, int]]:
    """The block starting at ``bs`` (its span runs from ``s``, which may hold the heading
    and blank lines before it, to ``e``) as one span, or as its lines when it is too big
    and line-structured (a list, a table, code): sentence cuts would mangle those."""
    if counter.count(render(s, e)) <= counter.budget:
        return [(s, e)]
    block_lines = [(bs + a, bs + b) for a, b in _lines(text[bs:e]) if text[bs + a : bs + b].strip()]
    if len(block_lines) < 2:
        return [(s, e)]
    contents = [text[a:b] for a, b in block_lines]
    fenced = bool(_FENCE.match(contents[0]))
    structured = sum(1 for c in contents if _STRUCTURED_LINE.match(c) or "|" in c)
    if not fenced and structured * 2 < len(contents):
        return [(s, e)]
    # Each line takes the blank lines after it; the first also takes what precedes it.
    # A table's delimiter row rides with its header row.
    starts = [s] + [a for (a, _), c in zip(block_lines[1:], contents[1:], strict=True)
                    if fenced or not _TABLE_SEP.match(c)]  # fmt: skip
    if fenced and len(starts) > 2:
        # The fence lines hold no content: the opening one rides with the first line of
        # code and the closing one with the last, so no piece is a bare "```".
        del starts[1]
        if len(starts) > 2 and _FENCE.match(contents[-1]):
            del starts[-1]
    ends = starts[1:] + [e]
    return list(zip(starts, ends, strict=True))


# --- HTML -----------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hr",
        "html",
        "main",
        "nav",
        "ol",
        "p",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "ul",
    }
)
_SKIP_TAGS = frozenset(
    {"head", "iframe", "noscript", "object", "script", "style", "svg", "template"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._pre = 0
        self._cell = False

    def _break(self, n: int = 2) -> None:
        self.out.append("\n" * n)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _HEADINGS:
            self._break()
            self.out.append("#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self._break(1)
            self.out.append("- ")
        elif tag == "pre":
            self._break()
            self._pre += 1
        elif tag == "br":
            self._break(1)
        elif tag == "tr":
            self._break(1)
            self._cell = False
        elif tag in ("td", "th"):
            if self._cell:
                self.out.append(" | ")
            self._cell = True
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f" {alt} ")
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A self-closed <br/> or <img/> must not open a skip/pre region.
        if tag in _SKIP_TAGS or tag == "pre":
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _HEADINGS or tag in _BLOCK_TAGS:
            self._break()
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self._break()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            self.out.append(data.replace("\x00", ""))
        else:
            # Marks the collapsed run so that a heading stays on one line.
            self.out.append(_WS.sub(" ", data).replace("\x00", ""))


def html_to_text(html: str) -> str:
    """Visible text of an HTML page: scripts and styles dropped, headings rendered as
    ATX lines ("## Title") so ``chunk_document`` sections it, list items as "- ",
    table cells joined by " | ", ``<pre>`` kept verbatim, at most one blank line between
    blocks."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    raw = "".join(parser.out)
    out_lines = [line.rstrip() for line in raw.split("\n")]
    # Paragraph text loses the indentation HTML never meant; <pre> lines keep theirs
    # because they were never collapsed, but their leading spaces are indistinguishable
    # here, so only runs of blank lines are normalized.
    text = "\n".join(out_lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r"(?m)^ (?=\S)", "", text)
    return text.strip("\n") + ("\n" if text.strip() else "")
