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
   lag the first syllable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from pipeline.align import placement, windows
from pipeline.align.evidence import Anchors, Evidence, RefWord, reference_words, weigh, words_by_line
from pipeline.align.timing import estimate_spans, refine_line, snap_span, tighten
from pipeline.audio import SAMPLE_RATE, Envelope, envelope
from pipeline.audio.chunks import Chunk
from pipeline.errors import AlignmentError
from pipeline.types import AlignedLine, Alignment, Line, LineStatus, Span, Word
from pipeline.whisper.attention import Placement, Window

Attend = Callable[[np.ndarray, Sequence[Window]], list[list[Placement]]]
TokenCount = Callable[[Sequence[str]], int]

SPAN_SLACK = 0.5  # how far a refined boundary may move from the anchors' estimate
MISMATCH_SHARE = 0.15  # below this share of reference words heard, the texts do not belong together


def align(
    lines: Sequence[Line],
    samples: np.ndarray,
    asr_words: Sequence[Word],
    attend: Attend,
    token_count: TokenCount,
    *,
    chunks: Sequence[Chunk] = (),
    env: Envelope | None = None,
    audio_name: str = "",
    transcript_name: str = "",
    model_name: str = "",
    recheck: frozenset[int] = frozenset(),
    unlikely: float = 0.0,
) -> Alignment:
    """The reference lines timed in the audio, with the evidence the ASR words give.

    A line whose first and last words the ASR heard takes its words' times
    from the ASR words, unless it is in ``recheck`` (lines whose ASR times are
    suspect); every other spoken line is placed by the cross-attention pass.
    A rechecked line whose words the attention finds less likely than
    ``unlikely`` (mean token probability) is taken as unspoken.
    """
    duration = samples.size / SAMPLE_RATE
    env = env if env is not None else envelope(samples)
    asr_words = tighten(env, asr_words)
    ref = reference_words(lines)
    by_line = words_by_line(ref)
    evidence = weigh(lines, ref, asr_words)
    _check_match(ref, asr_words, evidence, transcript_name, audio_name)

    spans = estimate_spans(
        lines, ref, by_line, asr_words, evidence.anchors, evidence.spoken, evidence.edges, duration
    )
    breaks = [asr_words[j].start for group in evidence.unscripted for j in group]
    trusted = [i for i in sorted(spans) if i not in recheck]
    placed = placement.from_anchors(trusted, ref, by_line, evidence.anchors, asr_words)
    attended = _place_words(
        ref, by_line, spans, set(spans) - set(placed), breaks, samples, attend, token_count, chunks
    )
    placed |= {
        i: words
        for i, words in attended.items()
        if i not in recheck or np.mean([w.probability for w in words]) >= unlikely
    }

    aligned = _finish_lines(lines, ref, by_line, evidence, spans, placed, env, duration)
    unscripted = [_span(env, [asr_words[j] for j in group]) for group in evidence.unscripted]
    return Alignment(
        audio=audio_name,
        duration=round(duration, 3),
        model=model_name,
        lines=tuple(_time_untranslated(aligned, unscripted)),
        unscripted=tuple(unscripted),
    )


def _check_match(
    ref: Sequence[RefWord], asr_words: Sequence[Word], evidence: Evidence, transcript: str, audio: str
) -> None:
    """Refuse a transcript the audio does not speak, rather than invent timings for it."""
    mostly_unheard = len(asr_words) >= 30 and len(ref) >= 30 and evidence.matched_share < MISMATCH_SHARE
    nothing_heard = len(asr_words) >= 8 and len(ref) >= 8 and not evidence.anchors
    if mostly_unheard or nothing_heard:
        raise AlignmentError(
            transcript or None,
            f"does not match {audio or 'the audio'} (only {evidence.matched_share:.0%} of its words are "
            "heard); check that it is this episode's transcript",
        )


def _finish_lines(
    lines: Sequence[Line],
    ref: Sequence[RefWord],
    by_line: dict[int, list[int]],
    evidence: Evidence,
    spans: dict[int, tuple[float, float]],
    placed: dict[int, list[Word]],
    env: Envelope,
    duration: float,
) -> list[AlignedLine]:
    ordered = sorted(spans)
    ceilings = {
        i: spans[j][0] + SPAN_SLACK if j is not None else duration
        for i, j in zip(ordered, [*ordered[1:], None])
    }
    aligned: list[AlignedLine] = []
    previous_end = 0.0
    for index, line in enumerate(lines):
        if not line.ru:
            aligned.append(AlignedLine(line, LineStatus.NO_TEXT, None, None, 0.0))
        elif not placed.get(index):
            aligned.append(AlignedLine(line, LineStatus.UNSPOKEN, None, None, 0.9))
        else:
            floor = max(previous_end, spans[index][0] - SPAN_SLACK)
            ceiling = min(ceilings[index], spans[index][1] + SPAN_SLACK)
            words = refine_line(env, placed[index], floor, ceiling)
            previous_end = words[-1].end
            conf = _confidence(line, by_line.get(index, []), ref, evidence.anchors, words)
            if index in evidence.guessed:
                conf = round(conf * 0.5, 3)  # placed by duration alone: worth a producer's look
            aligned.append(AlignedLine(line, LineStatus.ALIGNED, words[0].start, words[-1].end, conf, words))
    return aligned


def _place_words(
    ref: Sequence[RefWord],
    by_line: dict[int, list[int]],
    spans: dict[int, tuple[float, float]],
    unplaced: set[int],
    breaks: Sequence[float],
    samples: np.ndarray,
    attend: Attend,
    token_count: TokenCount,
    chunks: Sequence[Chunk],
) -> dict[int, list[Word]]:
    """Cross-attention placement of the ``unplaced`` lines' words, windows batched."""
    if not unplaced:
        return {}
    words_of = {i: [ref[w].text for w in by_line[i]] for i in spans}
    duration = samples.size / SAMPLE_RATE
    planned = windows.plan(spans, unplaced, words_of, breaks, token_count, chunks, duration)
    placements = attend(samples, [window for _, window in planned]) if planned else []
    placed: dict[int, list[Word]] = {}
    for (group, _), found in zip(planned, placements):
        cursor = 0
        for index in group:
            count = len(words_of[index])
            piece = found[cursor : cursor + count]
            placed[index] = [
                Word(text, p.start, p.end, p.probability) for text, p in zip(words_of[index], piece)
            ]
            cursor += count
    return placed


def _confidence(
    line: Line, own: Sequence[int], ref: Sequence[RefWord], anchors: Anchors, words: Sequence[Word]
) -> float:
    """Blend of how much of the line was heard, the attention's certainty, and a plausible pace."""
    tokens = [(w in anchors, len(ref[w].tokens)) for w in own]
    total = sum(n for _, n in tokens) or 1
    heard = sum(n for hit, n in tokens if hit) / total
    certainty = float(np.mean([w.probability for w in words])) if words else 0.0
    seconds = max(0.05, words[-1].end - words[0].start) if words else 0.05
    pace = sum(len(t) for w in own for t in ref[w].tokens) / seconds
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
