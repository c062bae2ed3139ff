"""Time estimates for lines, and boundaries moved onto the speech itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pipeline.align.reference import Reference
from pipeline.audio import Envelope
from pipeline.pace import SECONDS_PER_LETTER, spread
from pipeline.types import Word

if TYPE_CHECKING:
    from pipeline.align.evidence import Evidence

Spans = dict[int, tuple[float, float]]  # line → rough (start, end)

REACH = 2.0  # how far from a word edge a line boundary is looked for (floor and ceiling bound it)
ONSET_LOOKBACK, ONSET_LOOKAHEAD = 0.4, 0.3
OFFSET_LOOKBACK, OFFSET_LOOKAHEAD = 0.3, 0.4


def estimate_spans(ref: Reference, asr_words: Sequence[Word], evidence: Evidence, duration: float) -> Spans:
    """Rough (start, end) of every spoken line: anchors extended over unanchored edge words.

    ``evidence.edges`` are the times of unmatched ASR words heard as a line's own edge words.
    """
    anchors, edges = evidence.anchors, evidence.edges
    spans: Spans = {}
    for index in sorted(evidence.spoken):
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
    env: Envelope, placed: Sequence[Word] | None, floor: float, ceiling: float
) -> tuple[Word, ...]:
    """Final word times of a line: attention placements, line edges moved onto speech.

    ``floor`` is where the previous line ended, ``ceiling`` the latest the line may end.
    """
    words = list(placed or ())
    if not words:
        return ()
    start = line_onset(env, words[0], floor)
    end = line_offset(env, words[-1], ceiling)
    end = max(end, start + 0.05)
    out: list[Word] = []
    cursor = start
    for k, word in enumerate(words):
        w_start = start if k == 0 else min(max(word.start, cursor), end)
        w_end = end if k == len(words) - 1 else min(max(word.end, w_start), end)
        out.append(Word(word.text, round(w_start, 3), round(w_end, 3), round(word.probability, 3)))
        cursor = w_end
    return tuple(out)


def line_onset(env: Envelope, first: Word, floor: float) -> float:
    """Where a line's speech begins: the onset after the longest pause before its first word ends.

    Cross-attention DTW hands any leading silence to the first token, so the
    first word's start is unreliable while its end is a real token transition.
    The line's onset is the one behind the longest pause (a closure inside a
    word is short; the pause between lines is not).
    """
    lo, hi = max(floor, min(first.start, first.end - REACH)), first.end
    picked = _best(env.onsets, env.pause_before, env.hop, lo, hi, prefer_late=True)
    if picked is None:  # the first word was placed in the silence before the speech
        picked = _best(env.onsets, env.pause_before, env.hop, hi, hi + ONSET_LOOKAHEAD, prefer_late=False)
    return max(floor, picked + env.onset_lag if picked is not None else first.start)


def line_offset(env: Envelope, last: Word, ceiling: float) -> float:
    """Where a line's speech ends: the offset before the longest pause after its last word starts."""
    lo, hi = last.start, min(ceiling, max(last.end, last.start + REACH))
    picked = _best(env.offsets, env.pause_after, env.hop, lo, hi, prefer_late=False)
    return min(ceiling, picked if picked is not None else last.end)


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
    beside it.
    """
    voiced = np.flatnonzero(env.speech)
    if voiced.size == 0:
        return list(words)
    out = []
    for word in words:
        lo, hi = np.searchsorted(voiced, [word.start / env.hop, word.end / env.hop])
        if lo >= hi:  # no speech under the word: leave it be
            out.append(word)
            continue
        start, end = voiced[lo] * env.hop, (voiced[hi - 1] + 1) * env.hop
        out.append(
            Word(word.text, round(max(word.start, start), 3), round(min(word.end, end), 3), word.probability)
        )
    return out
