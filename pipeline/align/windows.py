"""Where the reference text is aligned: windows of at most 30 s around spoken lines.

A run of lines that lies wholly inside one encoded chunk is aligned in that
chunk, reusing its encoder output. Other lines (crossing a chunk edge, sharing a
chunk with unscripted speech, or too many tokens) get windows of their own,
bounded by the neighbouring lines' estimates. No window spans unscripted
speech: the attention would hand that speech to the next line's first word.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline.align.reference import Reference
from pipeline.align.speech import Speech
from pipeline.align.timing import Spans
from pipeline.audio.chunks import Chunk
from pipeline.whisper.attention import MAX_TOKENS, Window

TokenCount = Callable[[Sequence[str]], int]

WINDOW_LIMIT = 12.0  # unpadded windows: shorter ones encode cheaper per second
WINDOW_PAD = 0.5
EDGE_SLACK = 0.25  # a line estimate may poke this far out of its chunk


def plan(
    ref: Reference,
    spans: Spans,
    unplaced: set[int],
    breaks: Sequence[float],
    speech: Speech,
    token_count: TokenCount,
) -> list[tuple[list[int], Window]]:
    """(lines, window) pairs covering the ``unplaced`` lines, in time order.

    ``spans`` holds every spoken line: placed neighbours bound the windows.
    ``breaks`` are times of unscripted speech, which no window may span.
    """
    words_of = {i: ref.texts(i) for i in spans}
    chunks = speech.chunks
    reused, rest = _chunk_runs(spans, unplaced, words_of, breaks, token_count, chunks)
    planned = [
        (run, Window(chunks[k].start, chunks[k].end, _words(run, words_of), chunk=k)) for k, run in reused
    ]
    for group in _group(rest, spans, words_of, breaks, token_count):
        planned.append((group, _own_window(group, spans, words_of, speech.duration)))
    return sorted(planned, key=lambda pair: pair[0][0])


def _chunk_runs(
    spans: Spans,
    unplaced: set[int],
    words_of: dict[int, list[str]],
    breaks: Sequence[float],
    token_count: TokenCount,
    chunks: Sequence[Chunk],
) -> tuple[list[tuple[int, list[int]]], list[int]]:
    inside: dict[int, list[int]] = {}
    touching: dict[int, set[int]] = {}
    for line, (start, end) in spans.items():
        for k, chunk in enumerate(chunks):
            if start < chunk.end and end > chunk.start:
                touching.setdefault(k, set()).add(line)
                if start >= chunk.start - EDGE_SLACK and end <= chunk.end + EDGE_SLACK:
                    inside.setdefault(k, []).append(line)
    reused: list[tuple[int, list[int]]] = []
    taken: set[int] = set()
    for k, lines in inside.items():
        chunk = chunks[k]
        whole = set(lines) == touching[k] and set(lines) <= unplaced
        quiet = not any(chunk.start <= t <= chunk.end for t in breaks)
        if whole and quiet and token_count(_words(sorted(lines), words_of)) <= MAX_TOKENS:
            reused.append((k, sorted(lines)))
            taken.update(lines)
    return reused, sorted(unplaced - taken)


def _group(
    lines: Sequence[int],
    spans: Spans,
    words_of: dict[int, list[str]],
    breaks: Sequence[float],
    token_count: TokenCount,
) -> list[list[int]]:
    groups: list[list[int]] = []
    tokens_in_group = 0
    for index in lines:
        start, end = spans[index]
        tokens = token_count(words_of[index])
        if groups:
            group = groups[-1]
            gap = (spans[group[-1]][1], start)
            adjacent = group[-1] == max(i for i in spans if i < index)
            fits = (
                end - spans[group[0]][0] + 2 * WINDOW_PAD <= WINDOW_LIMIT
                and tokens_in_group + tokens <= MAX_TOKENS
            )
            if adjacent and fits and not any(gap[0] <= t <= gap[1] for t in breaks):
                group.append(index)
                tokens_in_group += tokens
                continue
        groups.append([index])
        tokens_in_group = tokens
    return groups


def _own_window(group: list[int], spans: Spans, words_of: dict[int, list[str]], duration: float) -> Window:
    before = [spans[i][1] for i in spans if i < group[0]]
    after = [spans[i][0] for i in spans if i > group[-1]]
    floor = max(before) - 0.1 if before else 0.0
    ceiling = min(after) + 0.1 if after else duration
    start = max(floor, spans[group[0]][0] - WINDOW_PAD, 0.0)
    end = min(ceiling, spans[group[-1]][1] + WINDOW_PAD, start + 30.0)
    return Window(start, max(end, start + 0.2), _words(group, words_of))


def _words(lines: Sequence[int], words_of: dict[int, list[str]]) -> tuple[str, ...]:
    return tuple(w for i in lines for w in words_of[i])
