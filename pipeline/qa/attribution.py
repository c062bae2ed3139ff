"""Which ASR words were heard for which transcript line, and which for none.

The aligner decides where each line sits; this module re-reads the ASR's
words against those places so the report can show, line by line, what was
written beside what was heard. It is a second opinion, not a copy of the
aligner's: the aligner judges unscripted speech by matched words alone, so a
line whose first or last word was said differently leaves that word behind
as "unscripted".

Each word goes to the line whose span covers it. Each run of words left over
is then, in turn: a neighbour's own edge words (:mod:`pipeline.qa.edges`),
the missing Russian of an English-only line the aligner could not time, a
neighbour's misheard edge, a line marked unspoken that it sounds like, or
else speech that matches no line.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from pipeline.align.evidence import GUESS_RESEMBLES, UNSCRIPTED_SPLIT_PAUSE
from pipeline.normalize import normalize_word
from pipeline.pace import LETTERS_PER_SECOND
from pipeline.qa.diff import letters
from pipeline.qa.edges import edge_owner, give, peel
from pipeline.types import AlignedLine, LineStatus, Word

SLACK = 0.15  # ASR word times drift about this far around the aligner's boundaries
COVERED = 0.25  # share of a word a line's span must cover to claim it: Whisper stretches words into pauses
MIN_WORD = 0.02  # seconds; Whisper gives some words no duration at all
RUN_BREAK = UNSCRIPTED_SPLIT_PAUSE  # a pause this long splits leftover speech into runs, as in the aligner
RESEMBLES = 0.5  # letter similarity of speech to a line that chance alone (almost) never reaches
# Weaker resemblance still counts when the speech alone fills the unspoken line's
# place and lasts about as long as the line would take to say.
RESEMBLES_IN_PLACE = GUESS_RESEMBLES  # as the aligner judges a line misheard in its place
DURATION_FIT = (0.6, 1.6)


@dataclass(frozen=True, slots=True)
class Heard:
    """ASR word indices per line, and runs of speech that belong to no line.

    ``revived`` holds lines the aligner marked unspoken although speech
    resembling them sits where they belong.
    """

    lines: dict[int, tuple[int, ...]]
    runs: tuple[tuple[int, ...], ...]
    revived: frozenset[int] = frozenset()


def attribute(lines: Sequence[AlignedLine], words: Sequence[Word]) -> Heard:
    slots = sorted(
        (al for al in lines if al.start is not None and al.end is not None), key=lambda al: al.start or 0.0
    )
    starts = [al.start or 0.0 for al in slots]
    owner = [_slot_of(w, slots, starts) for w in words]
    heard: dict[int, list[int]] = {}
    for j, line in enumerate(owner):
        if line is not None:
            heard.setdefault(line, []).append(j)
    by_index = {al.line.index: al for al in lines}
    runs: list[tuple[int, ...]] = []
    revived: set[int] = set()
    pace = median_pace(slots)
    for whole in _runs(words, owner):
        run = peel(whole, words, owner, by_index, heard)
        if not run:
            continue
        english = _untimed_english_line(run, words, lines, slots)
        if english is not None:
            give(heard, english, run)
            continue
        edge = edge_owner(run, words, owner, by_index, heard)
        if edge is not None:
            give(heard, edge, run)
            continue
        like = _resembled_line(run, words, lines, slots, pace)
        if like is not None:
            give(heard, like, run)
            revived.add(like)
            continue
        runs.append(run)
    return Heard({k: tuple(v) for k, v in heard.items()}, tuple(runs), frozenset(revived))


def _slot_of(word: Word, slots: Sequence[AlignedLine], starts: Sequence[float]) -> int | None:
    """The line whose span (widened by ``SLACK``) covers most of the word, if any covers enough.

    Overlap rather than the midpoint: Whisper stretches a word after a pause
    back into the silence, so a stretched word's middle can lie outside its line.
    """
    end = max(word.end, word.start + MIN_WORD)
    at = bisect.bisect_right(starts, end + SLACK)
    best: tuple[float, int] | None = None
    for al in slots[max(0, at - 4) : at]:
        overlap = min(end, (al.end or 0.0) + SLACK) - max(word.start, (al.start or 0.0) - SLACK)
        if overlap >= COVERED * (end - word.start) and (best is None or overlap > best[0]):
            best = (overlap, al.line.index)
    return best[1] if best else None


def _runs(words: Sequence[Word], owner: Sequence[int | None]) -> list[tuple[int, ...]]:
    """Consecutive unattributed words, split where a line's words or a long pause intervene.

    A "word" with no letters or digits («—») is the ASR's punctuation, not speech.
    """
    runs: list[list[int]] = []
    for j, line in enumerate(owner):
        if line is not None or not normalize_word(words[j].text):
            continue
        if runs and runs[-1][-1] == j - 1 and words[j].start - words[j - 1].end <= RUN_BREAK:
            runs[-1].append(j)
        else:
            runs.append([j])
    return [tuple(r) for r in runs]


def _between(
    run: tuple[int, ...], words: Sequence[Word], lines: Sequence[AlignedLine], slots: Sequence[AlignedLine]
) -> Sequence[AlignedLine]:
    """The lines placed between the timed lines on either side of the run."""
    start, end = words[run[0]].start, words[run[-1]].end
    before = max((al.line.index for al in slots if (al.end or 0.0) <= start + SLACK), default=-1)
    after = min((al.line.index for al in slots if (al.start or 0.0) >= end - SLACK), default=len(lines))
    return lines[before + 1 : after]


def _untimed_english_line(
    run: tuple[int, ...], words: Sequence[Word], lines: Sequence[AlignedLine], slots: Sequence[AlignedLine]
) -> int | None:
    """An English-only line the aligner could not time, placed where this speech is.

    Russian said where the transcript has only English is that line's missing
    Russian, not speech the transcript forgot.
    """
    for al in _between(run, words, lines, slots):
        if al.status is LineStatus.NO_TEXT and al.start is None:
            return al.line.index
    return None


def _resembled_line(
    run: tuple[int, ...],
    words: Sequence[Word],
    lines: Sequence[AlignedLine],
    slots: Sequence[AlignedLine],
    pace: float,
) -> int | None:
    """An unspoken line placed between the run's neighbours that the run sounds like.

    Letters alike beyond chance suffice; weaker likeness needs the run to be
    the only candidate in the place with about the line's spoken length.
    """
    start, end = words[run[0]].start, words[run[-1]].end
    unspoken = [al for al in _between(run, words, lines, slots) if al.status is LineStatus.UNSPOKEN]
    said = letters(" ".join(words[j].text for j in run))
    best: tuple[float, int] | None = None
    for al in unspoken:
        written = letters(al.line.ru)
        similarity = SequenceMatcher(None, written, said, autojunk=False).ratio()
        fits = DURATION_FIT[0] <= (end - start) * pace / max(len(written), 1) <= DURATION_FIT[1]
        alone = len(unspoken) == 1 and fits and similarity >= RESEMBLES_IN_PLACE
        if (similarity >= RESEMBLES or alone) and (best is None or similarity > best[0]):
            best = (similarity, al.line.index)
    return best[1] if best else None


def median_pace(slots: Sequence[AlignedLine]) -> float:
    """Letters per second of this episode's aligned lines; a typical pace when there are none."""
    paces = sorted(
        len(letters(al.line.ru)) / ((al.end or 0.0) - (al.start or 0.0))
        for al in slots
        if al.status is LineStatus.ALIGNED and (al.end or 0.0) - (al.start or 0.0) > 0.3
    )
    return paces[len(paces) // 2] if paces else LETTERS_PER_SECOND
