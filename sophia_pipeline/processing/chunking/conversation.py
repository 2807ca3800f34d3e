"""Speaker-turn chunking for conversations (Gong calls, Slack threads).

Consecutive turns of one speaker merge into a group; every group is kept, the last one
included. A group over the token budget is split at sentence boundaries (then words,
then characters) with the speaker label repeated on every piece.
"""

from __future__ import annotations

from collections.abc import Callable

from sophia_pipeline.documents import Turn, render_turns

from .base import Chunk, TokenCounterLike, pack_spans, sentence_spans


def chunk_conversation(doc_id: str, turns: list[Turn], counter: TokenCounterLike) -> list[Chunk]:
    source, offsets = render_turns(turns)
    chunks: list[Chunk] = []
    i = 0
    while i < len(turns):
        j = i
        while j + 1 < len(turns) and turns[j + 1].speaker == turns[i].speaker:
            j += 1
        label = f"{turns[i].speaker}: "
        spans = _group_spans(source, offsets[i : j + 1])
        render = _renderer(source, label)
        for piece in pack_spans(source, spans, counter, render):
            chunks.append(
                Chunk(
                    doc_id,
                    len(chunks),
                    piece.text,
                    piece.start,
                    piece.end,
                    piece.tokens,
                    label=turns[i].speaker,
                )
            )
        i = j + 1
    return chunks


def _group_spans(source: str, offsets: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Sentence spans tiling the group's lines exactly: the first line's label joins the
    first sentence, and each line's newline plus the next line's label join the sentence
    before them, so nothing between the group's first and last character is uncovered."""
    spans: list[tuple[int, int]] = []
    for k, (text_start, text_end, line_start) in enumerate(offsets):
        turn_spans = sentence_spans(source, text_start, text_end) or [(text_start, text_end)]
        if k == 0:
            turn_spans[0] = (line_start, turn_spans[0][1])
        elif spans:
            # The previous line's "\n" and this line's label belong to the span before.
            spans[-1] = (spans[-1][0], text_start)
        spans.extend(s for s in turn_spans if s[1] > s[0])
    if spans:
        last_end = offsets[-1][1] + 1  # the newline closing the group's last line
        spans[-1] = (spans[-1][0], last_end)
    return spans


def _renderer(source: str, label: str) -> Callable[[int, int], str]:
    repeated = "\n" + label

    def render(s: int, e: int) -> str:
        body = source[s:e]
        if body.startswith(label):
            body = body[len(label) :]
        return label + body.replace(repeated, " ").strip()

    return render
