"""Line boundaries under noise that is not steady: where a voice model hears a voice.

Over a music bed the energy envelope sees sound everywhere, and spectral
subtraction (:mod:`pipeline.align.denoise`) only takes out noise that stays the
same: on the real-noise episode (a real reader over a music bed at 12 dB) the
envelope put 39 % of line starts within 125 ms of the truth, 0.2-1.1 s off
otherwise. The Silero VAD model that faster-whisper ships (ONNX, on the CPU)
tells a voice from music: a line's start taken from its onsets puts 96 % there
(median 14 ms). On clean recordings the envelope is better (the telephone
episode: 100 % against the model's 87 %), so only a noisy recording is
listened to (:func:`pipeline.align.denoise.noisy`: real-noise and mismatched,
20 and 19 dB of contrast; the clean, telephone and edited episodes 65-69 dB);
the others are untouched, bit for bit. The model takes 0.8 s for 5 min and 10 s
for an hour on one core of the 2-core test machine (4-5 times that while the
other core is busy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipeline.align.timing import MIN_WORD
from pipeline.audio import SAMPLE_RATE
from pipeline.types import Word

FRAME = 512  # samples per probability: the model's step, 32 ms
HOP = FRAME / SAMPLE_RATE
BLOCK = 18_750 * FRAME  # 10 min a call: an hour takes 0.25 GB more, against 0.9 GB in one call
WARM = 64 * FRAME  # 2 s heard before each block, their probabilities dropped, to settle the model's state
# A voice begins where its probability reaches ONSET and ends where it falls under OFFSET.
# The model's probability rises early on a soft first sound and falls slowly after the
# last: on real-noise / mismatched (15 dB white noise) onsets at 0.3 put 89 % / 93 % of
# starts within 125 ms against 96 % / 95 % at 0.2 (before LEAD); offsets at 0.2 miss ends by
# a median 29 / 73 ms against 14 / 14 ms at 0.5.
ONSET = 0.2
OFFSET = 0.5
# The voice begins inside the frame before the first one called speech; its middle is the
# best guess: the median start error went from 27 / 11 ms to 14 / 13 ms (real-noise / mismatched).
LEAD = HOP / 2
# A run of speech shorter than BLIP[0] s with more than BLIP[1] s of pause after it is a breath or a
# click: an inhalation 0.3 s before a festvox-ru line is 2 frames of «speech» (the line started
# on it, 0.35 s early). On real-noise 5 of the 9 short runs near a line start lie 0.2-0.5 s
# before it with 0.26-0.58 s of pause after; those with the voice 0.03-0.16 s after them lie
# on the start (a soft first sound). The benches' figures do not change.
BLIP = (0.1, 0.2)
REACH = 1.2  # seconds from the envelope's boundary the voice's is looked for (0.8: 82 % on real-noise)


@dataclass(frozen=True, slots=True, eq=False)
class Voice:
    """Where a voice model hears a voice begin and end (seconds), and the pause before each onset."""

    onsets: np.ndarray
    pause_before: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, probability: np.ndarray) -> Voice:
        """From one speech probability per ``HOP`` seconds."""
        onsets, offsets_low = _edges(probability >= ONSET)
        gap_after = np.r_[onsets[1:] - offsets_low[:-1], np.inf]
        kept = (offsets_low - onsets >= BLIP[0]) | (gap_after <= BLIP[1])
        onsets, offsets_low = onsets[kept], offsets_low[kept]
        last_off = np.searchsorted(offsets_low, onsets, side="right") - 1
        before = onsets - np.where(last_off >= 0, offsets_low[np.maximum(last_off, 0)], 0.0)
        _, offsets = _edges(probability >= OFFSET)
        return cls((onsets - LEAD).clip(0.0), before, offsets)

    def line(self, words: Sequence[Word], floor: float, ceiling: float) -> tuple[Word, ...]:
        """A line's words with its start and end moved onto the voice, where it is heard nearby.

        The start is the onset behind the longest pause within ``REACH`` of the first
        word's start (a short dip in the probability inside a word is not a line's
        beginning; on real-noise the nearest onset put 86 % of starts within 125 ms,
        the onset of the run holding the envelope's start 82 %, this 96 %), after
        ``floor`` (the previous line's end) and before the first word ends; the end is
        the offset nearest the last word's end, after the last word starts and before
        ``ceiling``.
        """
        if not words:
            return tuple(words)
        first, last = words[0], words[-1]
        start = first.start
        ok = (
            (self.onsets > floor)
            & (self.onsets < first.end - MIN_WORD)
            & (np.abs(self.onsets - first.start) <= REACH)
        )
        if ok.any():
            k = np.flatnonzero(ok)
            start = float(self.onsets[k[int(np.argmax(self.pause_before[k]))]])
        end = last.end
        lo = (start if len(words) == 1 else last.start) + MIN_WORD
        ok = (self.offsets > lo) & (self.offsets <= ceiling) & (np.abs(self.offsets - last.end) <= REACH)
        if ok.any():
            candidates = self.offsets[ok]
            end = float(candidates[int(np.argmin(np.abs(candidates - last.end)))])
        out = list(words)
        out[0] = replace(first, start=round(start, 3))
        out[-1] = replace(out[-1], end=round(max(end, out[-1].start + MIN_WORD), 3))
        return tuple(out)


def listen(samples: np.ndarray) -> Voice:
    """Where the voice begins and ends in ``samples`` (16 kHz), by faster-whisper's Silero VAD."""
    from faster_whisper.vad import get_vad_model  # onnxruntime: only noisy recordings need it

    model = get_vad_model()
    parts = []
    for first in range(0, samples.size, BLOCK):
        lead = min(first, WARM)
        piece = np.asarray(samples[first - lead : first + BLOCK], np.float32)
        # np.pad copies: the model writes zeros into its input's last frame.
        block = np.pad(piece, (0, -piece.size % FRAME))
        parts.append(np.asarray(model(block)).reshape(-1)[lead // FRAME :])
    return Voice.of(np.concatenate(parts) if parts else np.zeros(0, np.float32))


def _edges(speech: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds where a run of speech frames begins, and where one ends."""
    step = np.diff(np.r_[0, speech.astype(np.int8), 0])
    return np.flatnonzero(step == 1) * HOP, np.flatnonzero(step == -1) * HOP
