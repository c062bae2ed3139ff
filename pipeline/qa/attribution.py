"""Which ASR words were heard for which transcript line, and which for none.

The aligner decides where each line sits; this module re-reads the ASR's
words against those places so the report can show, line by line, what was
written beside what was heard. It is a second opinion, not a copy of the
aligner's: the aligner judges unscripted speech by matched words alone, so a
line whose first or last word was said differently leaves that word behind
as "unscripted". Here such a stray word is given back to its line when the
line's facing edge went unheard, and speech found where the aligner saw an
unspoken line is compared with that line's text.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from pipeline.normalize import normalize_word
from pipeline.qa.diff import align_tokens, tokenize, unheard_edge
from pipeline.types import AlignedLine, LineStatus, Word

SLACK = 0.15  # ASR word times drift about this far around the aligner's boundaries
COVERED = 0.25  # share of a word a line's span must cover to claim it: Whisper stretches words into pauses
MIN_WORD = 0.02  # seconds; Whisper gives some words no duration at all
RUN_BREAK = 1.0  # a pause this long splits leftover speech into separate runs
EDGE_GAP = 0.6  # a run this close to a line may be that line's misheard edge
EDGE_EXTRA_WORDS = 1  # how many more words a run may have than the edge it replaces
EDGE_SOUNDALIKE_WORDS = 3  # longer runs are speech of their own, whatever they sound like
SOUNDS_LIKE = 0.6  # share of letters found in order, as the aligner judges "heard"
RESEMBLES = 0.5  # letter similarity of speech to a line that chance alone (almost) never reaches
# Weaker resemblance still counts when the speech alone fills the unspoken line's
# place and lasts about as long as the line would take to say.
RESEMBLES_IN_PLACE = 0.3
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
        run = _peel(whole, words, owner, by_index, heard)
        if not run:
            continue
        english = _untimed_english_line(run, words, lines, slots)
        if english is not None:
            _give(heard, english, run)
            continue
        edge = _edge_owner(run, words, owner, by_index, heard)
        if edge is not None:
            _give(heard, edge, run)
            continue
        like = _resembled_line(run, words, lines, slots, pace)
        if like is not None:
            _give(heard, like, run)
            revived.add(like)
            continue
        runs.append(run)
    return Heard({k: tuple(v) for k, v in heard.items()}, tuple(runs), frozenset(revived))


def _give(heard: dict[int, list[int]], line: int, indices: Sequence[int]) -> None:
    """Add ASR words to a line, keeping its words in spoken order for the diff."""
    for j in indices:
        bisect.insort(heard.setdefault(line, []), j)


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


def _peel(
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
            _give(heard, line, [j])
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


def _edge_owner(
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
        said = _letters(" ".join(words[j].text for j in run))
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
    said = _letters(" ".join(words[j].text for j in run))
    best: tuple[float, int] | None = None
    for al in unspoken:
        letters = _letters(al.line.ru)
        similarity = SequenceMatcher(None, letters, said, autojunk=False).ratio()
        fits = DURATION_FIT[0] <= (end - start) * pace / max(len(letters), 1) <= DURATION_FIT[1]
        alone = len(unspoken) == 1 and fits and similarity >= RESEMBLES_IN_PLACE
        if (similarity >= RESEMBLES or alone) and (best is None or similarity > best[0]):
            best = (similarity, al.line.index)
    return best[1] if best else None


def median_pace(slots: Sequence[AlignedLine]) -> float:
    """Letters per second of this episode's aligned lines; a typical pace when there are none."""
    paces = sorted(
        len(_letters(al.line.ru)) / ((al.end or 0.0) - (al.start or 0.0))
        for al in slots
        if al.status is LineStatus.ALIGNED and (al.end or 0.0) - (al.start or 0.0) > 0.3
    )
    return paces[len(paces) // 2] if paces else 12.0


def _letters(text: str) -> str:
    return "".join(tokenize(text.split()).tokens)
