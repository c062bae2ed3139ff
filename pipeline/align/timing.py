"""Time estimates for lines, and boundaries moved onto the speech itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pipeline.align.breath import voice_end, voice_start
from pipeline.align.reference import Reference
from pipeline.align.speech import Speech
from pipeline.audio import Envelope
from pipeline.normalize import normalize_word
from pipeline.pace import SECONDS_PER_LETTER, spread
from pipeline.types import Word

if TYPE_CHECKING:
    from pipeline.align.evidence import Evidence

Spans = dict[int, tuple[float, float]]  # line → rough (start, end)

# A word longer than 1 s + 0.25 s a letter (three times a slow reader's pace) was stretched
# over speech the ASR skipped; it is cut back to 0.2 s + 0.12 s a letter. On the festvox-ru
# study episodes the longest honest words took 0.84 s a letter («и», drawn out before a pause).
STRETCHED = (1.0, 0.25)
STRETCH_KEEP = (0.2, 0.12)
# An edge word the decoder all but rules out (under 5 %) that stands more than 1 s apart
# from the rest of its line was put on speech that is not the line's (read along without
# the ASR, an unspoken line before it over speech the transcript lacks: «И» 2.7 s early at
# 0.25 %); it goes next to its neighbour, with the time its letters take. Honest edge
# words read aloud sit at 0.3-0.99, and the pause after a first word is under 1 s.
STRAY_GAP = 1.0
STRAY_PROBABILITY = 0.05
MIN_WORD = 0.04  # seconds: no word is shown shorter (a karaoke highlight needs a frame or two)
REACH = 2.0  # how far from a word edge a line boundary is looked for (floor and ceiling bound it)
ONSET_LOOKBACK, ONSET_LOOKAHEAD = 0.4, 0.3
OFFSET_LOOKBACK, OFFSET_LOOKAHEAD = 0.3, 0.4


def estimate_spans(
    ref: Reference, asr_words: Sequence[Word], evidence: Evidence, duration: float, known: Spans | None = None
) -> Spans:
    """Rough (start, end) of every spoken line: anchors extended over unanchored edge words.

    ``evidence.edges`` are the times of unmatched ASR words heard as a line's own edge words;
    ``known`` lines (found by other means) keep the times given.
    """
    anchors, edges = evidence.anchors, evidence.edges
    spans: Spans = dict(known or {})
    for index in sorted(evidence.spoken - set(spans)):
        own = ref.by_line[index]
        hits = [k for k, w in enumerate(own) if w in anchors]
        if not hits:
            continue
        lead = ref.letters(own[: hits[0]]) * SECONDS_PER_LETTER
        trail = ref.letters(own[hits[-1] + 1 :]) * SECONDS_PER_LETTER
        start = asr_words[anchors[own[hits[0]]][0]].start - lead
        end = asr_words[anchors[own[hits[-1]]][1]].end + trail
        if index in edges:
            start, end = min(start, edges[index][0]), max(end, edges[index][1])
        spans[index] = (start, max(end, start + 0.1))
    _fill_unanchored(ref, evidence.spoken, spans, duration)
    return _monotonic(spans, duration)


def _fill_unanchored(ref: Reference, spoken: frozenset[int], spans: Spans, duration: float) -> None:
    """Share the time between anchored neighbours among spoken lines that have no anchors."""
    missing = sorted(i for i in spoken if i not in spans)
    k = 0
    while k < len(missing):
        run = [missing[k]]
        while k + 1 < len(missing) and not any(i in spans for i in range(run[-1] + 1, missing[k + 1])):
            k += 1
            run.append(missing[k])
        k += 1
        before = max((spans[i][1] for i in spans if i < run[0]), default=0.0)
        after = min((spans[i][0] for i in spans if i > run[-1]), default=duration)
        sizes = [max(1, ref.letters(ref.by_line[i])) for i in run]
        for i, (s, e) in zip(run, spread(before, before + max(0.2, after - before), sizes)):
            spans[i] = (s, e)


def _monotonic(spans: Spans, duration: float) -> Spans:
    out: Spans = {}
    floor = 0.0
    for index in sorted(spans):
        start, end = spans[index]
        start = min(max(start, floor, 0.0), duration)
        end = min(max(end, start + 0.05), duration)
        out[index] = (start, end)
        floor = end
    return out


def refine_line(
    speech: Speech, placed: Sequence[Word] | None, floor: float, ceiling: float
) -> tuple[Word, ...]:
    """Final word times of a line: attention placements, line edges moved onto speech.

    ``floor`` is where the previous line ended, ``ceiling`` the latest the line may end.
    """
    words = _gather_strays(list(placed or ()))
    if not words:
        return ()
    start = line_onset(speech, words[0], floor)
    end = line_offset(speech, words[-1], ceiling)
    end = max(end, start + 0.05)
    times: list[tuple[float, float]] = []
    cursor = start
    for k, word in enumerate(words):
        w_start = start if k == 0 else min(max(word.start, cursor), end)
        w_end = end if k == len(words) - 1 else min(max(word.end, w_start), end)
        times.append((w_start, w_end))
        cursor = w_end
    times = uncram(times, [_letters(w) for w in words])
    return tuple(
        Word(w.text, round(s, 3), round(e, 3), round(w.probability, 3)) for w, (s, e) in zip(words, times)
    )


def _gather_strays(words: list[Word]) -> list[Word]:
    """The line's words with a stray first or last word (``STRAY_GAP``) moved next to its neighbour."""
    if len(words) < 2:
        return words
    first, last = words[0], words[-1]
    if words[1].start - first.end > STRAY_GAP and first.probability < STRAY_PROBABILITY:
        length = max(MIN_WORD, SECONDS_PER_LETTER * _letters(first))
        words[0] = Word(first.text, words[1].start - length, words[1].start, first.probability)
    if last.start - words[-2].end > STRAY_GAP and last.probability < STRAY_PROBABILITY:
        length = max(MIN_WORD, SECONDS_PER_LETTER * _letters(last))
        words[-1] = Word(last.text, words[-2].end, words[-2].end + length, last.probability)
    return words


def uncram(times: Sequence[tuple[float, float]], letters: Sequence[int]) -> list[tuple[float, float]]:
    """Word times in order in which no word is shorter than ``MIN_WORD`` (or its share of a short line).

    A word squeezed into nothing takes time from its neighbours: the smallest
    run of words around it with room for all of them is shared out again,
    ``MIN_WORD`` each and the rest by letters.
    """
    out = list(times)
    if not out:
        return out
    least = min(MIN_WORD, (out[-1][1] - out[0][0]) / len(out))
    while True:
        short = [k for k, (s, e) in enumerate(out) if e - s < least - 1e-6]
        if not short:
            return out
        a = b = short[0]
        while out[b][1] - out[a][0] < 2 * least * (b - a + 1) and (a > 0 or b < len(out) - 1):
            a, b = max(0, a - 1), min(len(out) - 1, b + 1)
        lo, hi = out[a][0], out[b][1]
        spare = max(0.0, hi - lo - least * (b - a + 1))
        shares = spread(0.0, spare, [max(1, n) for n in letters[a : b + 1]])
        out[a : b + 1] = [(lo + least * k + s, lo + least * (k + 1) + e) for k, (s, e) in enumerate(shares)]
        if hi - lo < least * (b - a + 1) - 1e-6:
            return out  # the whole line is shorter than its words' least: nothing more to share


def line_onset(speech: Speech, first: Word, floor: float) -> float:
    """Where a line's speech begins: the onset after the longest pause before its first word ends.

    Cross-attention DTW hands any leading silence to the first token, so the
    first word's start is unreliable while its end is a real token transition.
    The line's onset is the one behind the longest pause (a closure inside a
    word is short; the pause between lines is not), unless what begins there
    is a breath or a click rather than the voice (:func:`~pipeline.align.breath.voice_start`).
    """
    env = speech.env
    lo, hi = max(floor, min(first.start, first.end - REACH)), first.end
    picked = _best(env.onsets, env.pause_before, env.hop, lo, hi, prefer_late=True)
    if picked is None:  # the first word was placed in the silence before the speech
        picked = _best(env.onsets, env.pause_before, env.hop, hi, hi + ONSET_LOOKAHEAD, prefer_late=False)
    if picked is None:
        return max(floor, first.start)
    return max(floor, voice_start(speech, picked + env.onset_lag, first.end + ONSET_LOOKAHEAD))


def line_offset(speech: Speech, last: Word, ceiling: float) -> float:
    """Where a line's speech ends: the offset before the longest pause after its last word starts.

    Unless what ends there is a click or a breath after the voice (:func:`~pipeline.align.breath.voice_end`).
    """
    env = speech.env
    lo, hi = last.start, min(ceiling, max(last.end, last.start + REACH))
    picked = _best(env.offsets, env.pause_after, env.hop, lo, hi, prefer_late=False)
    if picked is None:
        return min(ceiling, last.end)
    return min(ceiling, voice_end(speech, picked, last.start))


def snap_span(env: Envelope, start: float, end: float) -> tuple[float, float]:
    """Edges of a stretch of ASR words moved onto nearby speech boundaries."""
    new_start = _best(
        env.onsets,
        env.pause_before,
        env.hop,
        start - ONSET_LOOKBACK,
        start + ONSET_LOOKAHEAD,
        prefer_late=True,
    )
    new_end = _best(
        env.offsets,
        env.pause_after,
        env.hop,
        end - OFFSET_LOOKBACK,
        end + OFFSET_LOOKAHEAD,
        prefer_late=False,
    )
    s = new_start if new_start is not None else start
    e = new_end if new_end is not None else end
    return s, max(e, s + 0.05)


def _best(
    frames: np.ndarray, pauses: np.ndarray, hop: float, lo: float, hi: float, prefer_late: bool
) -> float | None:
    """The boundary in [lo, hi] next to the longest pause (ties go late or early)."""
    if frames.size == 0 or hi < lo:
        return None
    a, b = np.searchsorted(frames, [lo / hop, hi / hop])
    if a >= b:
        return None
    candidates = pauses[a:b]
    k = (b - a - 1 - int(np.argmax(candidates[::-1]))) if prefer_late else int(np.argmax(candidates))
    return float(frames[a + k] * hop)


def tighten(env: Envelope, words: Sequence[Word]) -> list[Word]:
    """ASR words trimmed to the speech inside them.

    Whisper's DTW hands each pause to a neighbouring word, so its words touch;
    trimmed, they show the pauses that tell a line's own words from speech
    beside it. Where Whisper skipped a sentence, its timing hands the skipped
    speech to the word before or after it («Мы» over 8 s): a word holding far
    more speech than its letters take is cut back to a plausible length first,
    with any such words beside it, against the plausible word after them (or
    before them, when there is none after).
    """
    # As floats: searching an int array for a float time converts all of it, every call
    # (an hour's 300,000 voiced frames: 0.3 ms a word, 7 s an episode).
    voiced = np.flatnonzero(env.speech).astype(np.float64)
    if voiced.size == 0:
        return list(words)
    out = [_trim(voiced, env.hop, word) for word in words]
    stretched = [_stretched(word) for word in out]
    k = 0
    while k < len(words):
        if not stretched[k]:
            k += 1
            continue
        run = range(k, next((j for j in range(k, len(words)) if not stretched[j]), len(words)))
        keeps = [STRETCH_KEEP[0] + STRETCH_KEEP[1] * _letters(words[j]) for j in run]
        before, after = run[0] > 0, run[-1] + 1 < len(words)
        if before and not after:  # the run sits against the speech of the word before it
            edge = out[run[0] - 1].end
            bounds = [edge + sum(keeps[:n]) for n in range(len(keeps) + 1)]
        else:  # against the speech of the word after (Whisper's boundary there drifts too)
            edge = out[run[-1] + 1].start if after else words[run[-1]].end
            bounds = [edge - sum(keeps[n:]) for n in range(len(keeps) + 1)]
        for n, j in enumerate(run):
            cut = Word(words[j].text, round(bounds[n], 3), round(bounds[n + 1], 3), words[j].probability)
            out[j] = _trim(voiced, env.hop, cut)
        k = run[-1] + 1
    return out


def _trim(voiced: np.ndarray, hop: float, word: Word) -> Word:
    lo, hi = np.searchsorted(voiced, [word.start / hop, word.end / hop])
    if lo >= hi:  # no speech under the word: leave it be
        return word
    start, end = voiced[lo] * hop, (voiced[hi - 1] + 1) * hop
    return Word(word.text, round(max(word.start, start), 3), round(min(word.end, end), 3), word.probability)


def _stretched(word: Word) -> bool:
    return word.end - word.start > STRETCHED[0] + STRETCHED[1] * _letters(word)


def _letters(word: Word) -> int:
    return sum(len(t) for t in normalize_word(word.text))
