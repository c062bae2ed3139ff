"""A line's edges: where the aligner's line boundaries and the ASR's words disagree.

Whisper stretches words into the pauses around them and fuses or splits
words across a boundary, and the aligner places boundaries by matched words;
so a line's first or last words may fall just outside the line's span.
These functions give such words back to their line before anything is scored.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from difflib import SequenceMatcher

from pipeline.align.evidence import SOUNDS_LIKE
from pipeline.qa.diff import align_tokens, letters, tokenize, unheard_edge
from pipeline.types import AlignedLine, Word

EDGE_GAP = 0.6  # a run this close to a line may be that line's misheard edge
EDGE_EXTRA_WORDS = 1  # how many more words a run may have than the edge it replaces
EDGE_SOUNDALIKE_WORDS = 1  # a fused word, not a phrase: phrases are speech of their own


def give(heard: dict[int, list[int]], line: int, indices: Sequence[int]) -> None:
    """Add ASR words to a line, keeping its words in spoken order for the diff."""
    for j in indices:
        bisect.insort(heard.setdefault(line, []), j)


def peel(
    run: tuple[int, ...],
    words: Sequence[Word],
    owner: list[int | None],
    by_index: dict[int, AlignedLine],
    heard: dict[int, list[int]],
) -> tuple[int, ...]:
    """Hand back to the neighbouring lines the run's edge words that are exactly their unheard edges.

    Whisper sometimes stretches a line's first word («И») back into the pause
    before it, out of the line's span; that word is the line's, not new speech.
    """
    first, last = run[0], run[-1]
    after = owner[last + 1] if last + 1 < len(owner) else None
    before = owner[first - 1] if first > 0 else None
    kept = list(run)
    for line, at_end in ((after, False), (before, True)):
        if line is None:
            continue
        missing = _unheard_edge_tokens(by_index[line], words, heard.get(line, []), at_end)
        while kept and missing:
            j = kept[0] if at_end else kept[-1]
            said = list(tokenize([words[j].text]).tokens)
            edge = missing[: len(said)] if at_end else missing[len(missing) - len(said) :]
            if not said or said != edge:
                break
            give(heard, line, [j])
            owner[j] = line
            missing = missing[len(said) :] if at_end else missing[: len(missing) - len(said)]
            kept = kept[1:] if at_end else kept[:-1]
    return tuple(kept)


def _unheard_edge_tokens(
    al: AlignedLine, words: Sequence[Word], heard: Sequence[int], at_end: bool
) -> list[str]:
    ref = tokenize(al.line.ru.split())
    hyp = tokenize([words[j].text for j in heard])
    count = unheard_edge(align_tokens(ref.tokens, hyp.tokens), len(ref.tokens), at_end)
    return list(ref.tokens[len(ref.tokens) - count :] if at_end else ref.tokens[:count])


def edge_owner(
    run: tuple[int, ...],
    words: Sequence[Word],
    owner: Sequence[int | None],
    by_index: dict[int, AlignedLine],
    heard: dict[int, list[int]],
) -> int | None:
    """The neighbouring line this run is the misheard first or last words of, if any.

    Either the line's facing edge went unheard and the run is about as many
    words, or the run is a few words that sound like that edge (Whisper
    fuses «в вопросе цифр…» into «вопросится» across the pause).
    """
    first, last = run[0], run[-1]
    candidates: list[tuple[float, int]] = []
    before = owner[first - 1] if first > 0 else None
    after = owner[last + 1] if last + 1 < len(owner) else None
    for line, gap, at_end in (
        (before, words[first].start - (by_index[before].end or 0.0) if before is not None else 0.0, True),
        (after, (by_index[after].start or 0.0) - words[last].end if after is not None else 0.0, False),
    ):
        if line is None or gap > EDGE_GAP:
            continue
        al = by_index[line]
        ref = tokenize(al.line.ru.split())
        hyp = tokenize([words[j].text for j in heard.get(line, [])])
        edge_tokens = unheard_edge(align_tokens(ref.tokens, hyp.tokens), len(ref.tokens), at_end)
        edge_words = len({ref.owner[i] for i in _edge_range(len(ref.tokens), edge_tokens, at_end)})
        said = letters(" ".join(words[j].text for j in run))
        if (edge_tokens and len(run) <= edge_words + EDGE_EXTRA_WORDS) or (
            len(run) <= EDGE_SOUNDALIKE_WORDS and _sounds_like_edge(said, "".join(ref.tokens), at_end)
        ):
            candidates.append((max(gap, 0.0), line))
    return min(candidates)[1] if candidates else None


def _edge_range(length: int, count: int, at_end: bool) -> range:
    return range(length - count, length) if at_end else range(count)


def _sounds_like_edge(said: str, letters: str, at_end: bool) -> bool:
    """Most of ``said``'s letters appear, in order, in the stretch of the line it borders."""
    if not said:
        return False
    window = letters[-2 * len(said) :] if at_end else letters[: 2 * len(said)]
    blocks = SequenceMatcher(None, said, window, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) / len(said) >= SOUNDS_LIKE
