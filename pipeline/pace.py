"""How long words take to say: a typical pace, and a stretch of time shared among words by their size.

The aligner (where a word the ASR did not hear lies), the QA (how fast a line
is said) and the cue stage (where a line is cut when it has no word times) all
need these; they live here, below every stage, so each imports the one copy.
"""

from __future__ import annotations

from collections.abc import Sequence

# Russian read at a calm pace: ~14 letters (normalised, no punctuation) a second.
# The bench episodes' Festival voice says 13-15; the festvox-ru reader ~13.
SECONDS_PER_LETTER = 0.07
LETTERS_PER_SECOND = 1.0 / SECONDS_PER_LETTER


def spread(start: float, end: float, sizes: Sequence[float], pause: float = 0.0) -> list[tuple[float, float]]:
    """``start``–``end`` shared among items in proportion to their ``sizes`` (letters, say).

    ``pause`` units follow each item (a space after each word, for instance):
    the items' own times leave that share out. Sizes of zero get no time.
    Times are in order and never leave ``start``–``end``.
    """
    total = sum(sizes) + pause * len(sizes)
    if total <= 0:
        return [(start, start) for _ in sizes]
    span = end - start
    out: list[tuple[float, float]] = []
    position = 0.0
    for size in sizes:
        begin = start + span * position / total
        position += size
        out.append((begin, start + span * position / total))
        position += pause
    return out
