"""The energy envelope: short-time energy with a speech/non-speech decision per frame.

The aligner lands line boundaries on its onsets and offsets, and the speech
chunks (:mod:`pipeline.audio.chunks`) are cut at its pauses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.audio.decoder import SAMPLE_RATE

HOP = 0.01  # seconds between frames
WINDOW = 0.025  # seconds a frame's energy is taken over
CLOSED_GAP = 3  # frames: shorter quiet runs inside speech are stop closures, not pauses


@dataclass(frozen=True, slots=True)
class Envelope:
    """Frame energies in dB with a speech/non-speech decision per frame."""

    hop: float  # seconds per frame
    db: np.ndarray
    speech: np.ndarray  # bool per frame
    onsets: np.ndarray  # frames where speech starts after a pause
    offsets: np.ndarray  # frames where speech ends before a pause
    pause_before: np.ndarray  # quiet frames before each onset
    pause_after: np.ndarray  # quiet frames after each offset
    # A frame spans [t, t + window]: it turns loud as soon as speech enters its
    # tail, so the speech itself begins about one window minus a hop later.
    onset_lag: float = 0.0

    def frame(self, t: float) -> int:
        return int(np.clip(round(t / self.hop), 0, len(self.db) - 1))

    def time(self, frame: int) -> float:
        return frame * self.hop


def envelope(samples: np.ndarray, hop: float = HOP, window: float = WINDOW) -> Envelope:
    """Short-time energy and a speech mask with a threshold set from the noise floor.

    The threshold sits between the noise floor (a low percentile) and the speech
    level (a high percentile), so it adapts to recordings with steady noise.
    """
    db = frame_db(samples, hop, window)
    return decide(db, levels(db), hop, window)


def frame_db(samples: np.ndarray, hop: float = HOP, window: float = WINDOW) -> np.ndarray:
    """The energy of each frame in dB: one per ``hop`` seconds, over ``window`` seconds from there."""
    power = _frame_power(samples, int(hop * SAMPLE_RATE), int(window * SAMPLE_RATE)) + 1e-12
    return 10.0 * np.log10(power)


def levels(db: np.ndarray) -> tuple[float, float]:
    """The noise floor and the speech level (dB) of a recording's frames."""
    loud = float(np.percentile(db, 95))
    # Sound 60 dB under the speech is inaudible; a lower floor (digital
    # silence) would put the thresholds among codec artefacts.
    return max(float(np.percentile(db, 10)), loud - 60.0), loud


def decide(db: np.ndarray, level: tuple[float, float], hop: float = HOP, window: float = WINDOW) -> Envelope:
    """Speech and pauses in frames ``db``, with thresholds between the ``level`` (floor, speech)."""
    # Hysteresis: a run counts as speech if it rises above the high threshold
    # somewhere, and then reaches out to where it sinks into the noise floor,
    # so soft word endings under noise are not cut off.
    high, low = thresholds(level)
    speech = _close_gaps(_hysteresis(db, low, high), max_gap=CLOSED_GAP)
    edges = np.diff(np.concatenate([[0], speech.astype(np.int8), [0]]))
    onsets, offsets = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    quiet = onsets[1:] - offsets[:-1] if onsets.size else onsets
    return Envelope(
        hop=hop,
        db=db.astype(np.float32),
        speech=speech,
        onsets=onsets,
        offsets=offsets,
        pause_before=np.concatenate([onsets[:1], quiet]),
        pause_after=np.concatenate([quiet, len(speech) - offsets[-1:]]),
        onset_lag=window - hop / 2,
    )


def thresholds(level: tuple[float, float]) -> tuple[float, float]:
    """The high and the low threshold (dB) between a recording's (floor, speech) levels."""
    floor, loud = level
    return floor + max(6.0, 0.35 * (loud - floor)), floor + max(3.0, 0.12 * (loud - floor))


def _frame_power(samples: np.ndarray, hop_n: int, win_n: int, block: int = 8192) -> np.ndarray:
    """Mean square per frame, computed in blocks so an hour of audio needs little memory."""
    n_frames = max(1, 1 + (samples.size - win_n) // hop_n)
    power = np.empty(n_frames, dtype=np.float64)
    for first in range(0, n_frames, block):
        count = min(block, n_frames - first)
        piece = samples[first * hop_n : (first + count - 1) * hop_n + win_n].astype(np.float64)
        piece = np.pad(piece, (0, max(0, (count - 1) * hop_n + win_n - piece.size)))
        frames = np.lib.stride_tricks.sliding_window_view(piece, win_n)[::hop_n][:count]
        power[first : first + count] = np.mean(frames**2, axis=1)
    return power


def _hysteresis(db: np.ndarray, low: float, high: float) -> np.ndarray:
    above_low = db > low
    edges = np.diff(np.concatenate([[0], above_low.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not starts.size:
        return np.zeros_like(above_low)
    peaks = np.maximum.reduceat(db, starts)[: starts.size]
    # reduceat's last segment runs to the end of the array; recompute it exactly
    peaks[-1] = db[starts[-1] : ends[-1]].max()
    keep = peaks > high
    return _runs(db.size, starts[keep], ends[keep])


def _close_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill non-speech runs of at most ``max_gap`` frames (stop closures inside words)."""
    idx = np.flatnonzero(mask)
    if idx.size < 2:
        return mask.copy()
    gaps = np.diff(idx)
    short = (gaps > 1) & (gaps <= max_gap + 1)
    return mask | _runs(mask.size, idx[:-1][short] + 1, idx[:-1][short] + gaps[short])


def _runs(size: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A mask of ``size`` frames, true over each run ``starts[k]:ends[k]`` (runs do not overlap)."""
    step = np.zeros(size + 1, dtype=np.int64)
    np.add.at(step, starts, 1)
    np.add.at(step, ends, -1)
    return np.cumsum(step[:-1]) > 0
