"""Reference words timed by the ASR words they matched, without a second pass over the audio.

Every encoded chunk was already aligned once, for the ASR's own text; a
reference word the ASR heard takes that word's time. A line whose first and
last words were heard is placed entirely this way: words between anchors share
the time between them by their letters. Lines heard only in part are left to
Whisper's cross-attention with the reference text (:mod:`pipeline.whisper.attention`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.align.evidence import Anchors
from pipeline.align.reference import Reference
from pipeline.pace import spread
from pipeline.types import Word

UNHEARD_PROBABILITY = 0.3  # certainty given to a word timed between its heard neighbours


def from_anchors(
    lines: Sequence[int], ref: Reference, anchors: Anchors, asr_words: Sequence[Word]
) -> dict[int, list[Word]]:
    """Word times of each of ``lines`` whose first and last spoken words are anchored."""
    placed: dict[int, list[Word]] = {}
    for index in lines:
        own = ref.by_line[index]
        spoken = [w for w in own if ref[w].tokens]
        if spoken and spoken[0] in anchors and spoken[-1] in anchors:
            placed[index] = _place(own, ref, anchors, asr_words)
    return placed


def _place(own: Sequence[int], ref: Reference, anchors: Anchors, asr_words: Sequence[Word]) -> list[Word]:
    times: dict[int, tuple[float, float, float]] = {}
    for run in _runs_sharing_asr_words(own, anchors):
        first, last = anchors[run[0]]
        heard = asr_words[first : last + 1]
        probability = sum(w.probability for w in heard) / len(heard)
        for w, (start, end) in zip(run, spread(heard[0].start, heard[-1].end, [ref[w].letters for w in run])):
            times[w] = (start, end, probability)
    out: list[Word] = []
    k = 0
    while k < len(own):
        w = own[k]
        if w in times:
            start, end, probability = times[w]
            out.append(Word(ref[w].text, round(start, 3), round(end, 3), round(probability, 3)))
            k += 1
            continue
        gap = [w]  # unheard words: the time between the heard words around them
        while k + len(gap) < len(own) and own[k + len(gap)] not in times:
            gap.append(own[k + len(gap)])
        lo = out[-1].end if out else times[own[k + len(gap)]][0]
        hi = times[own[k + len(gap)]][0] if k + len(gap) < len(own) else lo
        for g, (start, end) in zip(gap, spread(lo, max(lo, hi), [ref[g].letters for g in gap])):
            out.append(Word(ref[g].text, round(start, 3), round(end, 3), UNHEARD_PROBABILITY))
        k += len(gap)
    return out


def _runs_sharing_asr_words(own: Sequence[int], anchors: Anchors) -> list[list[int]]:
    """Anchored words grouped where they matched the same ASR words (e.g. «из за» heard as «изза»)."""
    runs: list[list[int]] = []
    for w in own:
        if w not in anchors:
            continue
        if runs and anchors[runs[-1][-1]] == anchors[w]:
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs
