"""Speech windows: the audio cut into contiguous stretches of at most 30 s.

Silero VAD (the ONNX model that ships inside faster-whisper) finds speech;
neighbouring speech is packed into windows that Whisper encodes once and every
later stage reuses. Windows are contiguous audio (silences inside them kept),
so a time inside a window is its start plus the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE

MAX_WINDOW = 30.0
PAD = 0.2  # speech padding, so Whisper hears each word's first and last sound


@dataclass(frozen=True, slots=True)
class Chunk:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def plan(samples: np.ndarray, max_window: float = MAX_WINDOW) -> list[Chunk]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        min_silence_duration_ms=300, speech_pad_ms=0, max_speech_duration_s=max_window - 2 * PAD
    )
    speech = [
        (s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in get_speech_timestamps(samples, options)
    ]
    return pack(speech, samples.size / SAMPLE_RATE, max_window)


def pack(speech: list[tuple[float, float]], duration: float, max_window: float = MAX_WINDOW) -> list[Chunk]:
    """Greedily pack speech stretches into windows no longer than ``max_window``."""
    chunks: list[Chunk] = []
    start = end = None
    for seg_start, seg_end in speech:
        seg_start, seg_end = max(0.0, seg_start - PAD), min(duration, seg_end + PAD)
        while seg_end - seg_start > max_window:  # VAD caps segments, but be safe
            chunks.append(Chunk(seg_start, seg_start + max_window))
            seg_start += max_window
        if start is not None and seg_end - start <= max_window:
            end = seg_end
            continue
        if start is not None:
            chunks.append(Chunk(start, end))
        start, end = max(seg_start, chunks[-1].end if chunks else 0.0), seg_end
    if start is not None:
        chunks.append(Chunk(start, end))
    return [c for c in chunks if c.duration > 0.1]
