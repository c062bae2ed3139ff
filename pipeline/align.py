"""Forced alignment of the reference transcript to the audio.

1. Anchors: reference and ASR words are normalised and matched in order
   (:mod:`pipeline.matching`); a matched word takes the ASR word's time.
2. Evidence: a line with no anchors is spoken only if unmatched ASR speech
   between its neighbours resembles it; otherwise it is ``unspoken``, and
   leftover ASR speech between lines is reported as unscripted.
3. Placement: spoken lines are grouped into windows of at most 30 s bounded by
   the anchors, and every reference word is placed by Whisper's cross-attention
   alignment of the reference text (:mod:`pipeline.attention`).
4. Boundaries: line starts and ends are moved onto the nearest speech onset and
   offset of the energy envelope, so cues do not lead or lag the first syllable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.attention import MAX_TOKENS, Placement, Window
from pipeline.audio import SAMPLE_RATE, Envelope, envelope
from pipeline.errors import AlignmentError
from pipeline.matching import coverage, match_tokens
from pipeline.normalize import normalize_word
from pipeline.timing import estimate_spans, refine_line, snap_span
from pipeline.types import AlignedLine, Alignment, Line, LineStatus, Span, Word

Attend = Callable[[np.ndarray, Sequence[Window]], list[list[Placement]]]
TokenCount = Callable[[Sequence[str]], int]

SPOKEN_MIN_COVERAGE = 0.6  # share of a line's letters found in unmatched speech
UNSCRIPTED_MIN_SECONDS = 0.5
WINDOW_LIMIT = 29.0
WINDOW_PAD = 0.5
SPAN_SLACK = 0.5  # how far a refined boundary may move from the anchors' estimate


@dataclass(frozen=True, slots=True)
class RefWord:
    line: int
    text: str
    tokens: tuple[str, ...]


def align(
    lines: Sequence[Line],
    samples: np.ndarray,
    asr_words: Sequence[Word],
    attend: Attend,
    token_count: TokenCount,
    *,
    audio_name: str = "",
    model_name: str = "",
) -> Alignment:
    duration = samples.size / SAMPLE_RATE
    env = envelope(samples)
    ref = [RefWord(i, w, normalize_word(w)) for i, line in enumerate(lines) for w in line.ru.split()]
    by_line = words_by_line(ref)
    anchors = _anchor_words(ref, by_line, asr_words)
    _check_match(ref, asr_words, anchors, audio_name)

    spoken, unscripted_words = _weigh_evidence(lines, ref, by_line, asr_words, anchors)
    spans = estimate_spans(lines, ref, by_line, asr_words, anchors, spoken, duration)
    breaks = [asr_words[j].start for j in unscripted_words]
    placed = _place_words(ref, by_line, spans, breaks, samples, attend, token_count)

    aligned: list[AlignedLine] = []
    previous_end = 0.0
    ordered = sorted(spans)
    ceilings = {
        i: (spans[j][0] + 0.3 if j is not None else duration) for i, j in zip(ordered, [*ordered[1:], None])
    }
    for index, line in enumerate(lines):
        if not line.ru:
            aligned.append(AlignedLine(line, LineStatus.NO_TEXT, None, None, 0.0))
        elif index not in spans or not placed.get(index):
            aligned.append(AlignedLine(line, LineStatus.UNSPOKEN, None, None, _unspoken_confidence()))
        else:
            floor = max(previous_end, spans[index][0] - SPAN_SLACK)
            words = refine_line(
                env, placed.get(index), floor, min(ceilings[index], spans[index][1] + SPAN_SLACK)
            )
            previous_end = words[-1].end
            conf = _confidence(line, by_line.get(index, []), ref, anchors, words)
            aligned.append(AlignedLine(line, LineStatus.ALIGNED, words[0].start, words[-1].end, conf, words))

    unscripted = _unscripted_spans(env, asr_words, unscripted_words)
    return Alignment(
        audio=audio_name,
        duration=round(duration, 3),
        model=model_name,
        lines=tuple(_time_untranslated(aligned, unscripted)),
        unscripted=tuple(unscripted),
        asr_words=tuple(asr_words),
    )


def words_by_line(ref: Sequence[RefWord]) -> dict[int, list[int]]:
    by_line: dict[int, list[int]] = {}
    for w, word in enumerate(ref):
        by_line.setdefault(word.line, []).append(w)
    return by_line


def _anchor_words(
    ref: Sequence[RefWord], by_line: dict[int, list[int]], asr_words: Sequence[Word]
) -> dict[int, int]:
    """Map reference word → ASR word for every matched token, dropping implausible anchors."""
    ref_tokens = [(w, t) for w, word in enumerate(ref) for t in word.tokens]
    asr_tokens = [(w, t) for w, word in enumerate(asr_words) for t in normalize_word(word.text)]
    pairs = match_tokens([t for _, t in ref_tokens], [t for _, t in asr_tokens])
    anchors: dict[int, int] = {}
    for i, j, _sim in pairs:
        anchors.setdefault(ref_tokens[i][0], asr_tokens[j][0])
    for own in by_line.values():
        anchored = [w for w in own if w in anchors]
        if anchored and _is_weak(ref, anchored, sum(len(ref[w].tokens) for w in own)):
            for w in anchored:
                del anchors[w]
    return anchors


def _is_weak(ref: Sequence[RefWord], anchored: list[int], line_tokens: int) -> bool:
    """A few short words matched by chance (e.g. «и», «в») are no evidence of a line."""
    matched = sum(len(ref[w].tokens) for w in anchored)
    if matched / max(1, line_tokens) >= 0.34:
        return False
    return all(len(t) <= 3 for w in anchored for t in ref[w].tokens)


def _check_match(
    ref: Sequence[RefWord], asr_words: Sequence[Word], anchors: dict[int, int], name: str
) -> None:
    if len(asr_words) >= 30 and len(ref) >= 30 and len(anchors) < 0.1 * min(len(ref), len(asr_words)):
        raise AlignmentError(
            name or None,
            f"the transcript does not match the audio ({len(anchors)} of {len(ref)} words heard); "
            "is it the transcript of another episode?",
        )


def _weigh_evidence(
    lines: Sequence[Line],
    ref: Sequence[RefWord],
    by_line: dict[int, list[int]],
    asr_words: Sequence[Word],
    anchors: dict[int, int],
) -> tuple[set[int], list[int]]:
    """Which lines are spoken, and which ASR words are speech that matches no line."""
    anchored_lines = sorted({ref[w].line for w in anchors})
    spoken = set(anchored_lines)
    line_asr = {line: [] for line in anchored_lines}  # type: dict[int, list[int]]
    for w, j in anchors.items():
        line_asr[ref[w].line].append(j)
    # Each gap runs from the last ASR word of one anchored line to the first of the next.
    bounds = [(-1, -1)] + [(line, max(line_asr[line])) for line in anchored_lines]
    nexts = [(line, min(line_asr[line])) for line in anchored_lines] + [(len(lines), len(asr_words))]
    unscripted: list[int] = []
    for (prev_line, prev_j), (next_line, next_j) in zip(bounds, nexts):
        gap = list(range(prev_j + 1, next_j))
        gap = _trim_consumed(gap, ref, by_line, anchors, prev_line, next_line, asr_words)
        between = [i for i in range(prev_line + 1, next_line) if lines[i].ru]
        heard = " ".join(t for j in gap for t in normalize_word(asr_words[j].text))
        found = [
            i
            for i in between
            if coverage(_letters(lines[i].ru), heard.replace(" ", "")) >= SPOKEN_MIN_COVERAGE
        ]
        spoken.update(found)
        if not found:
            unscripted.extend(gap)
    for line in anchored_lines:  # ASR words inside a line's own span belong to it
        lo, hi = min(line_asr[line]), max(line_asr[line])
        unscripted = [j for j in unscripted if not lo < j < hi]
    return spoken, unscripted


def _trim_consumed(
    gap: list[int],
    ref: Sequence[RefWord],
    by_line: dict[int, list[int]],
    anchors: dict[int, int],
    prev_line: int,
    next_line: int,
    asr_words: Sequence[Word],
) -> list[int]:
    """Drop gap words that sound like the unanchored tail of the previous line or head of the next."""
    tail = _unanchored_edge(by_line, anchors, prev_line, from_end=True)
    head = _unanchored_edge(by_line, anchors, next_line, from_end=False)
    if tail and gap:
        letters = "".join(t for w in tail for t in ref[w].tokens)
        while gap and _sounds_like(asr_words[gap[0]], letters):
            gap = gap[1:]
    if head and gap:
        letters = "".join(t for w in head for t in ref[w].tokens)
        while gap and _sounds_like(asr_words[gap[-1]], letters):
            gap = gap[:-1]
    return gap


def _sounds_like(word: Word, letters: str) -> bool:
    heard = "".join(normalize_word(word.text))
    return bool(heard) and coverage(heard, letters) >= 0.6


def _unanchored_edge(
    by_line: dict[int, list[int]], anchors: dict[int, int], line: int, from_end: bool
) -> list[int]:
    """The line's words before its first anchor (or after its last); none for an unanchored line."""
    words = by_line.get(line, [])
    if from_end:
        words = words[::-1]
    edge: list[int] = []
    for w in words:
        if w in anchors:
            return edge
        edge.append(w)
    return []


def _letters(text: str) -> str:
    return "".join(t for word in text.split() for t in normalize_word(word))


def _place_words(
    ref: Sequence[RefWord],
    by_line: dict[int, list[int]],
    spans: dict[int, tuple[float, float]],
    breaks: Sequence[float],
    samples: np.ndarray,
    attend: Attend,
    token_count: TokenCount,
) -> dict[int, list[Word]]:
    """Cross-attention placement of each spoken line's words, windows batched.

    A window never spans unscripted speech (``breaks``): the attention would
    hand that speech to the next line's first word.
    """
    words_of = {i: [ref[w].text for w in by_line[i]] for i in spans}
    groups: list[list[int]] = []
    for index in sorted(spans):
        start, end = spans[index]
        if groups:
            group = groups[-1]
            first = spans[group[0]][0]
            tokens = token_count([w for i in [*group, index] for w in words_of[i]])
            gap = (spans[group[-1]][1], start)
            interrupted = any(gap[0] <= t <= gap[1] for t in breaks)
            if end - first + 2 * WINDOW_PAD <= WINDOW_LIMIT and tokens <= MAX_TOKENS and not interrupted:
                group.append(index)
                continue
        groups.append([index])
    ordered = sorted(spans)
    windows = []
    for group in groups:
        position = ordered.index(group[0])
        floor = spans[ordered[position - 1]][1] - 0.1 if position > 0 else 0.0
        last = ordered.index(group[-1])
        ceiling = spans[ordered[last + 1]][0] + 0.1 if last + 1 < len(ordered) else samples.size / SAMPLE_RATE
        start = max(floor, spans[group[0]][0] - WINDOW_PAD, 0.0)
        end = min(ceiling, spans[group[-1]][1] + WINDOW_PAD, start + 30.0)
        windows.append(Window(start, max(end, start + 0.2), tuple(w for i in group for w in words_of[i])))
    placements = attend(samples, windows) if windows else []
    placed: dict[int, list[Word]] = {}
    for group, found in zip(groups, placements):
        cursor = 0
        for index in group:
            count = len(words_of[index])
            placed[index] = [
                Word(text, p.start, p.end, p.probability)
                for text, p in zip(words_of[index], found[cursor : cursor + count])
            ]
            cursor += count
    return placed


def _confidence(
    line: Line, own: Sequence[int], ref: Sequence[RefWord], anchors: dict[int, int], words: Sequence[Word]
) -> float:
    """Blend of how much of the line was heard, the attention's certainty, and a plausible pace."""
    tokens = [(w in anchors, len(ref[w].tokens)) for w in own]
    total = sum(n for _, n in tokens) or 1
    heard = sum(n for hit, n in tokens if hit) / total
    certainty = float(np.mean([w.probability for w in words])) if words else 0.0
    seconds = max(0.05, words[-1].end - words[0].start) if words else 0.05
    pace = len(_letters(line.ru)) / seconds
    plausible = 1.0 if 6.0 <= pace <= 25.0 else 0.4
    return round(float(np.clip(0.6 * heard + 0.2 * certainty + 0.2 * plausible, 0.0, 1.0)), 3)


def _unspoken_confidence() -> float:
    return 0.9


def _unscripted_spans(env: Envelope, asr_words: Sequence[Word], indices: Sequence[int]) -> list[Span]:
    """Group leftover ASR words into spans, splitting at pauses over a second."""
    spans: list[Span] = []
    group: list[Word] = []
    for j in sorted(set(indices)):
        word = asr_words[j]
        if group and word.start - group[-1].end > 1.0:
            spans.append(_span(env, group))
            group = []
        group.append(word)
    if group:
        spans.append(_span(env, group))
    return [s for s in spans if s.end - s.start >= UNSCRIPTED_MIN_SECONDS]


def _span(env: Envelope, words: Sequence[Word]) -> Span:
    start, end = snap_span(env, words[0].start, words[-1].end)
    return Span(round(start, 3), round(end, 3), " ".join(w.text for w in words))


def _time_untranslated(aligned: list[AlignedLine], unscripted: Sequence[Span]) -> list[AlignedLine]:
    """An English-only line takes the time of unscripted speech between its neighbours."""
    out = list(aligned)
    for k, item in enumerate(aligned):
        if item.status is not LineStatus.NO_TEXT:
            continue
        before = max((a.end for a in aligned[:k] if a.end is not None), default=0.0)
        after = min((a.start for a in aligned[k + 1 :] if a.start is not None), default=float("inf"))
        inside = [s for s in unscripted if s.start >= before - 0.05 and s.end <= after + 0.05]
        if inside:
            out[k] = AlignedLine(item.line, LineStatus.NO_TEXT, inside[0].start, inside[-1].end, 0.5)
    return out
