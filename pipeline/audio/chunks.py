"""Speech chunks: the audio cut into contiguous stretches of at most 30 s, each encoded once.

The energy envelope the aligner uses anyway (:func:`pipeline.audio.envelope`,
adaptive thresholds with hysteresis) finds speech; neighbouring speech is packed
into chunks that Whisper encodes once and every later stage reuses. (Silero
VAD would cost ~120 MB of memory and a pass over the audio for the same cuts
on podcast speech; Whisper's no-speech gate and the loop guards in
:mod:`pipeline.whisper.asr` catch what energy alone lets through.) Chunks are
contiguous audio (silences inside them kept), so a time inside a chunk is its
start plus the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.audio.energy import Envelope

MAX_CHUNK = 30.0
# --no-asr: chunks are not padded to 30 s, and shorter ones encode cheaper per
# second (the encoder's attention is quadratic). On the bench episodes 20 s
# chunks aligned as well as 30 s ones, in ~15% less time; 10-15 s ones lost accuracy.
READ_ALONG_CHUNK = 20.0
PAD = 0.2  # speech padding, so Whisper hears each word's first and last sound
MIN_PAUSE = 0.3  # shorter pauses do not split speech


@dataclass(frozen=True, slots=True)
class Chunk:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def plan(env: Envelope, duration: float, max_chunk: float = MAX_CHUNK) -> list[Chunk]:
    """Chunks over the speech the energy envelope finds, split at pauses of ``MIN_PAUSE`` or more."""
    if env.onsets.size == 0:
        return []
    pauses = (env.onsets[1:] - env.offsets[:-1]) * env.hop
    splits = np.flatnonzero(pauses >= MIN_PAUSE)
    starts = np.concatenate([env.onsets[:1], env.onsets[splits + 1]]) * env.hop
    ends = np.concatenate([env.offsets[splits], env.offsets[-1:]]) * env.hop
    return pack(list(zip(starts.tolist(), ends.tolist())), duration, max_chunk)


def pack(speech: list[tuple[float, float]], duration: float, max_chunk: float = MAX_CHUNK) -> list[Chunk]:
    """Greedily pack speech stretches into chunks no longer than ``max_chunk``."""
    chunks: list[Chunk] = []
    start = end = None
    for seg_start, seg_end in speech:
        seg_start, seg_end = max(0.0, seg_start - PAD), min(duration, seg_end + PAD)
        while seg_end - seg_start > max_chunk:  # VAD caps segments, but be safe
            chunks.append(Chunk(seg_start, seg_start + max_chunk))
            seg_start += max_chunk
        if start is not None and seg_end - start <= max_chunk:
            end = seg_end
            continue
        if start is not None:
            chunks.append(Chunk(start, end))
        start, end = max(seg_start, chunks[-1].end if chunks else 0.0), seg_end
    if start is not None:
        chunks.append(Chunk(start, end))
    return [c for c in chunks if c.duration > 0.1]
