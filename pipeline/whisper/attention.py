"""Whisper's cross-attention alignment of known text inside audio windows.

This is the mechanism faster-whisper uses for its word timestamps (CTranslate2's
``Whisper.align``: attention of the alignment heads, median-filtered, then DTW),
applied here to any token sequence: the ASR's own output, or the reference
text. A window that is one of the episode's encoded chunks reuses its kept
encoder output; any other window is encoded on the spot. Windows go in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.whisper.encoder import EncodedAudio, encode_audio, frame_count
from pipeline.whisper.engine import Engine

MAX_TOKENS = 220  # well under the decoder's 448 positions, sot sequence included
_TOKENS_PER_SECOND = SAMPLE_RATE / (160 * 2)


@dataclass(frozen=True, slots=True)
class Window:
    """Audio from ``start`` to ``end`` (at most 30 s) that should contain ``words`` in order.

    ``chunk`` names the encoded chunk the window is, when it is one.
    """

    start: float
    end: float
    words: tuple[str, ...]
    chunk: int | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    start: float
    end: float
    probability: float


class Attention:
    """Aligns word sequences to audio windows with a loaded :class:`Engine`."""

    def __init__(self, engine: Engine, encoded: EncodedAudio | None = None) -> None:
        self.engine, self.encoded = engine, encoded
        self.squeeze = 1.0 if encoded is None else encoded.squeeze
        self.tokenizer = engine.tokenizer()

    def word_tokens(self, word: str) -> list[int]:
        return self.tokenizer.encode(" " + word)

    def token_count(self, words: Sequence[str]) -> int:
        return sum(len(self.word_tokens(w)) for w in words)

    def __call__(self, samples: np.ndarray, windows: Sequence[Window]) -> list[list[Placement]]:
        """Place every word of every window; times are absolute seconds."""
        results: dict[int, list[Placement]] = {}
        batch = self.engine.window_batch
        kept = [k for k, w in enumerate(windows) if w.chunk is not None and self.encoded is not None]
        fresh = [k for k, w in enumerate(windows) if k not in set(kept)]
        batches = [
            group[first : first + batch] for group in (kept, fresh) for first in range(0, len(group), batch)
        ]

        def work(picked: list[int]) -> list[list[Placement]]:
            return self._align_batch(samples, [windows[k] for k in picked])

        for picked, found in zip(batches, self.engine.map(work, batches)):
            results.update(zip(picked, found))
        return [results[k] for k in range(len(windows))]

    def _align_batch(self, samples: np.ndarray, windows: Sequence[Window]) -> list[list[Placement]]:
        if self.encoded is not None and all(w.chunk is not None for w in windows):
            encoded = self.encoded.load([w.chunk for w in windows])  # type: ignore[misc]
        else:
            pieces = [samples[int(w.start * SAMPLE_RATE) : int(w.end * SAMPLE_RATE)] for w in windows]
            encoded = encode_audio(self.engine, pieces, pad=False, squeeze=self.squeeze)
        per_word = [[self.word_tokens(w) for w in window.words] for window in windows]
        frames = [frame_count(w.end - w.start, self.squeeze) for w in windows]
        return align_tokens(
            self.engine, self.tokenizer, encoded, per_word, frames, [w.start for w in windows], self.squeeze
        )


def align_tokens(
    engine: Engine,
    tokenizer: object,
    encoded: object,
    per_word: Sequence[Sequence[Sequence[int]]],
    frames: Sequence[int],
    offsets: Sequence[float],
    squeeze: float = 1.0,
) -> list[list[Placement]]:
    """DTW placement of each window's words (given as token lists) in its encoded audio.

    ``squeeze``: the speed the audio was encoded at (see :func:`~pipeline.whisper.encoder.squeeze_time`).
    """
    eot = tokenizer.eot  # type: ignore[attr-defined]
    text = [[t for tokens in words for t in tokens] + [eot] for words in per_word]
    raw = engine.whisper.model.align(
        encoded,
        tokenizer.sot_sequence,
        text,
        list(frames),
        median_filter_width=7,  # type: ignore[attr-defined]
    )
    return [
        _placements(result, words, offset, squeeze) for result, words, offset in zip(raw, per_word, offsets)
    ]


def _placements(
    result: object, per_word: Sequence[Sequence[int]], offset: float, squeeze: float
) -> list[Placement]:
    """Word times from the DTW path: a word spans from its first token's jump to the next word's."""
    pairs = np.asarray(result.alignments, dtype=np.int64).reshape(-1, 2)  # type: ignore[attr-defined]
    probs = np.asarray(result.text_token_probs, dtype=np.float64)  # type: ignore[attr-defined]
    if not len(per_word):
        return []
    if pairs.size == 0:
        return [Placement(offset, offset, 0.0) for _ in per_word]
    text_idx, time_idx = pairs[:, 0], pairs[:, 1]
    jumps = np.concatenate([[True], np.diff(text_idx) != 0])
    jump_times = time_idx[jumps] * squeeze / _TOKENS_PER_SECOND
    bounds = np.concatenate([[0], np.cumsum([len(t) for t in per_word])])
    last = len(jump_times) - 1
    placements = []
    for k in range(len(per_word)):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        start, end = float(jump_times[min(lo, last)]), float(jump_times[min(hi, last)])
        prob = float(np.mean(probs[lo:hi])) if hi > lo and hi <= probs.size else 0.0
        placements.append(Placement(offset + start, offset + max(end, start), prob))
    return placements
