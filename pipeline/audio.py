"""Audio in: any file ffmpeg reads, decoded once to 16 kHz mono float32.

PyAV (a faster-whisper dependency) bundles ffmpeg, so no system ffmpeg is needed.
Also holds the energy envelope the aligner uses to land boundaries on speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import AudioError, InputNotFound

SAMPLE_RATE = 16_000


def decode(path: str | Path) -> np.ndarray:
    """Decode the first audio track of ``path`` to a mono float32 array at 16 kHz."""
    import av

    path = Path(path)
    if not path.exists():
        raise InputNotFound(path, "audio file not found")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "audio file is empty (0 bytes)")
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise AudioError(path, "has no audio track")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            try:
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1))
            except av.error.InvalidDataError:
                # A truncated file still yields what came before the damage.
                if not chunks:
                    raise
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise AudioError(path, f"cannot decode audio ({_short(exc)})") from exc
    if not chunks:
        raise AudioError(path, "contains no audio samples")
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    if samples.size < SAMPLE_RATE // 10:
        raise AudioError(path, "audio is shorter than 0.1 s")
    return samples


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def duration(samples: np.ndarray) -> float:
    return samples.size / SAMPLE_RATE


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


def envelope(samples: np.ndarray, hop: float = 0.01, window: float = 0.025) -> Envelope:
    """Short-time energy and a speech mask with a threshold set from the noise floor.

    The threshold sits between the noise floor (a low percentile) and the speech
    level (a high percentile), so it adapts to recordings with steady noise.
    """
    hop_n = int(hop * SAMPLE_RATE)
    win_n = int(window * SAMPLE_RATE)
    power = _frame_power(samples, hop_n, win_n) + 1e-12
    db = 10.0 * np.log10(power)
    loud = np.percentile(db, 95)
    # Sound 60 dB under the speech is inaudible; a lower floor (digital
    # silence) would put the thresholds among codec artefacts.
    floor = max(np.percentile(db, 10), loud - 60.0)
    # Hysteresis: a run counts as speech if it rises above the high threshold
    # somewhere, and then reaches out to where it sinks into the noise floor,
    # so soft word endings under noise are not cut off.
    high = floor + max(6.0, 0.35 * (loud - floor))
    low = floor + max(3.0, 0.12 * (loud - floor))
    speech = _close_gaps(_hysteresis(db, low, high), max_gap=3)
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
    mask = np.zeros_like(above_low)
    if starts.size:
        peaks = np.maximum.reduceat(db, starts)[: starts.size]
        # reduceat's last segment runs to the end of the array; recompute it exactly
        peaks[-1] = db[starts[-1] : ends[-1]].max()
        for start, end, peak in zip(starts, ends, peaks):
            if peak > high:
                mask[start:end] = True
    return mask


def _close_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill non-speech runs of at most ``max_gap`` frames (stop closures inside words)."""
    out = mask.copy()
    idx = np.flatnonzero(mask)
    if idx.size < 2:
        return out
    gaps = np.diff(idx)
    for left, gap in zip(idx[:-1], gaps):
        if 1 < gap <= max_gap + 1:
            out[left + 1 : left + gap] = True
    return out
