"""Forced alignment of the reference transcript to the audio.

1. Evidence (:mod:`pipeline.align.evidence`): reference and ASR words are matched in
   order; matched words are anchors; lines with no anchors are spoken only if
   unmatched speech between their neighbours resembles them; speech left over
   between lines is unscripted.
2. Placement: a line the ASR heard from its first word to its last takes its
   words' times from the ASR words (:mod:`pipeline.align.placement`), which were
   already aligned on the same encodings; the other spoken lines are grouped
   into windows bounded by their neighbours and placed by Whisper's
   cross-attention alignment of the reference text (:mod:`pipeline.whisper.attention`).
3. Boundaries (:mod:`pipeline.align.timing`): line starts and ends are moved onto the
   speech onsets and offsets of the energy envelope, so cues neither lead nor
   lag the first syllable; in a noisy recording, then onto where a voice model
   hears the voice begin and end (:mod:`pipeline.align.voice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from pipeline.align import placement, windows
from pipeline.align.denoise import clearer_envelope, noisy
from pipeline.align.evidence import Anchors, Evidence, seconds_per_letter, weigh
from pipeline.align.recovery import recover
from pipeline.align.reference import Reference
from pipeline.align.speech import Speech
from pipeline.align.timing import Spans, estimate_spans, refine_line, snap_span, tighten
from pipeline.align.voice import Voice, listen
from pipeline.audio import Envelope
from pipeline.errors import AlignmentError
from pipeline.types import AlignedLine, Alignment, Line, LineStatus, Span, Word
from pipeline.whisper.attention import Placement, Window

SPAN_SLACK = 0.5  # how far a refined boundary may move from the anchors' estimate
MISMATCH_SHARE = 0.15  # below this share of reference words heard, the texts do not belong together


class Attender(Protocol):
    """Places known words in audio windows (Whisper's cross-attention, or a fake in tests)."""

    def __call__(self, samples: np.ndarray, windows: Sequence[Window]) -> list[list[Placement]]: ...

    def token_count(self, words: Sequence[str]) -> int: ...


@dataclass(frozen=True, slots=True)
class Names:
    """What the result and its messages call the inputs."""

    audio: str = ""
    transcript: str = ""
    model: str = ""


@dataclass(frozen=True, slots=True)
class Options:
    """``recheck``: lines whose word times (from a read-along) are suspect, placed again in
    windows of their own; a rechecked line whose words the attention finds less likely
    than ``unlikely`` (mean token probability) there is taken as unspoken."""

    recheck: frozenset[int] = frozenset()
    unlikely: float = 0.0


def align(
    lines: Sequence[Line],
    speech: Speech,
    asr_words: Sequence[Word],
    attend: Attender,
    names: Names = Names(),
    options: Options = Options(),
) -> Alignment:
    """The reference lines timed in the audio, with the evidence the ASR words give.

    A line whose first and last words the ASR heard takes its words' times
    from the ASR words, unless ``options`` asks to recheck it; every other
    spoken line is placed by the cross-attention pass (``attend``).
    """
    duration = speech.duration
    env = clearer_envelope(speech.samples, speech.env, tighten(speech.env, asr_words))
    voice = listen(speech.samples) if noisy(speech.env) else None
    speech = replace(speech, env=env)
    asr_words = tighten(env, asr_words)
    ref = Reference.of(lines)
    evidence = weigh(ref, asr_words)
    _check_match(ref, asr_words, evidence, names)

    evidence, found = _look_for_unheard(ref, asr_words, evidence, speech, attend)
    known = {i: (words[0].start, words[-1].end) for i, words in found.items()}
    spans = estimate_spans(ref, asr_words, evidence, duration, known)
    breaks = [asr_words[j].start for group in evidence.unscripted for j in group]
    trusted = [i for i in sorted(spans) if i not in options.recheck and i not in found]
    placed = placement.from_anchors(trusted, ref, evidence.anchors, asr_words) | found
    attended = _place_words(ref, spans, set(spans) - set(placed), breaks, speech, attend)
    placed |= {
        i: words
        for i, words in attended.items()
        if i not in options.recheck or np.mean([w.probability for w in words]) >= options.unlikely
    }

    aligned = _finish_lines(ref, evidence, spans, placed, speech, voice)
    unscripted = [_span(env, [asr_words[j] for j in group]) for group in evidence.unscripted]
    return Alignment(
        audio=names.audio,
        duration=round(duration, 3),
        model=names.model,
        lines=tuple(_time_untranslated(aligned, unscripted)),
        unscripted=tuple(unscripted),
    )


def _look_for_unheard(
    ref: Reference, asr_words: Sequence[Word], evidence: Evidence, speech: Speech, attend: Attender
) -> tuple[Evidence, dict[int, list[Word]]]:
    """Lines the ASR did not hear (or heard only as something else), looked for in the audio.

    Returns the evidence with the lines found spoken, and those lines' words.
    Unscripted speech that a found line covers was that line, misheard.
    """
    doubtful = [i for i in ref.spoken_lines() if i not in evidence.spoken]
    if not doubtful:
        return evidence, {}
    spans = estimate_spans(ref, asr_words, evidence, speech.duration)
    pace = seconds_per_letter(ref, evidence.anchors, asr_words)
    found = recover(ref, doubtful, spans, speech, attend, attend.token_count, pace).placed
    covered = [(words[0].start, words[-1].end) for words in found.values()]
    unscripted = tuple(
        group for group in evidence.unscripted if not _mostly_inside(asr_words, group, covered)
    )
    return replace(evidence, spoken=evidence.spoken | set(found), unscripted=unscripted), found


def _mostly_inside(
    asr_words: Sequence[Word], group: Sequence[int], spans: Sequence[tuple[float, float]]
) -> bool:
    total = sum(asr_words[j].end - asr_words[j].start for j in group)
    inside = sum(
        max(0.0, min(asr_words[j].end, end) - max(asr_words[j].start, start))
        for j in group
        for start, end in spans
    )
    return inside > 0.5 * total


def _check_match(ref: Reference, asr_words: Sequence[Word], evidence: Evidence, names: Names) -> None:
    """Refuse a transcript the audio does not speak, rather than invent timings for it."""
    mostly_unheard = len(asr_words) >= 30 and len(ref) >= 30 and evidence.matched_share < MISMATCH_SHARE
    nothing_heard = len(asr_words) >= 8 and len(ref) >= 8 and not evidence.anchors
    if mostly_unheard or nothing_heard:
        raise AlignmentError(
            names.transcript or None,
            f"does not match {names.audio or 'the audio'} (only {evidence.matched_share:.0%} of its words "
            "are heard); check that it is this episode's transcript",
        )


def _finish_lines(
    ref: Reference,
    evidence: Evidence,
    spans: Spans,
    placed: dict[int, list[Word]],
    speech: Speech,
    voice: Voice | None,
) -> list[AlignedLine]:
    duration = speech.duration
    ordered = sorted(spans)
    ceilings = {
        i: spans[j][0] + SPAN_SLACK if j is not None else duration
        for i, j in zip(ordered, [*ordered[1:], None])
    }
    aligned: list[AlignedLine] = []
    previous_end = 0.0
    for index, line in enumerate(ref.lines):
        if not line.ru:
            aligned.append(AlignedLine(line, LineStatus.NO_TEXT, None, None, 0.0))
        elif not placed.get(index):
            aligned.append(AlignedLine(line, LineStatus.UNSPOKEN, None, None, 0.9))
        else:
            floor = max(previous_end, spans[index][0] - SPAN_SLACK)
            ceiling = min(ceilings[index], spans[index][1] + SPAN_SLACK)
            words = refine_line(speech, tighten(speech.env, placed[index]), floor, ceiling)
            if voice is not None:  # a noisy recording: the voice model's boundaries
                words = voice.line(words, previous_end, ceiling)
            previous_end = words[-1].end
            conf = _confidence(ref, index, evidence.anchors, words)
            if index in evidence.guessed:
                conf = round(conf * 0.5, 3)  # placed by duration alone: worth a producer's look
            aligned.append(AlignedLine(line, LineStatus.ALIGNED, words[0].start, words[-1].end, conf, words))
    return aligned


def _place_words(
    ref: Reference,
    spans: Spans,
    unplaced: set[int],
    breaks: Sequence[float],
    speech: Speech,
    attend: Attender,
) -> dict[int, list[Word]]:
    """Cross-attention placement of the ``unplaced`` lines' words, windows batched."""
    if not unplaced:
        return {}
    planned = windows.plan(ref, spans, unplaced, breaks, speech, attend.token_count)
    placements = attend(speech.samples, [window for _, window in planned]) if planned else []
    placed: dict[int, list[Word]] = {}
    for (group, _), found in zip(planned, placements):
        cursor = 0
        for index in group:
            texts = ref.texts(index)
            piece = found[cursor : cursor + len(texts)]
            placed[index] = [Word(text, p.start, p.end, p.probability) for text, p in zip(texts, piece)]
            cursor += len(texts)
    return placed


def _confidence(ref: Reference, index: int, anchors: Anchors, words: Sequence[Word]) -> float:
    """Blend of how much of the line was heard, the attention's certainty, and a plausible pace."""
    own = ref.by_line[index]
    tokens = [(w in anchors, len(ref[w].tokens)) for w in own]
    total = sum(n for _, n in tokens) or 1
    heard = sum(n for hit, n in tokens if hit) / total
    certainty = float(np.mean([w.probability for w in words])) if words else 0.0
    seconds = max(0.05, words[-1].end - words[0].start) if words else 0.05
    pace = ref.letters(own) / seconds
    plausible = 1.0 if 6.0 <= pace <= 25.0 else 0.4
    return round(float(np.clip(0.6 * heard + 0.2 * certainty + 0.2 * plausible, 0.0, 1.0)), 3)


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
