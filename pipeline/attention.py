"""Whisper's cross-attention alignment of known text inside audio windows.

This is the mechanism faster-whisper uses for its word timestamps (CTranslate2's
``Whisper.align``: attention of the alignment heads, median-filtered, then DTW),
applied here to the reference text instead of the ASR's own tokens. Windows are
encoded and aligned in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.asr import Engine
from pipeline.audio import SAMPLE_RATE

WINDOW_SECONDS = 30.0
MAX_TOKENS = 220  # well under the decoder's 448 positions, sot sequence included
_HOP = 160
_FRAMES = 3000  # mel frames in Whisper's 30 s input
_TOKENS_PER_SECOND = SAMPLE_RATE / (_HOP * 2)


@dataclass(frozen=True, slots=True)
class Window:
    """Audio from ``start`` to ``end`` (at most 30 s) that should contain ``words`` in order."""

    start: float
    end: float
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Placement:
    start: float
    end: float
    probability: float


class Attention:
    """Aligns word sequences to audio windows with a loaded :class:`Engine`."""

    def __init__(self, engine: Engine) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.engine = engine
        whisper = engine.whisper
        self.tokenizer = Tokenizer(
            whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe", language=engine.language
        )

    def word_tokens(self, word: str) -> list[int]:
        return self.tokenizer.encode(" " + word)

    def token_count(self, words: Sequence[str]) -> int:
        return sum(len(self.word_tokens(w)) for w in words)

    def __call__(self, samples: np.ndarray, windows: Sequence[Window]) -> list[list[Placement]]:
        """Place every word of every window; times are absolute seconds."""
        results: list[list[Placement]] = []
        batch = max(1, self.engine.batch_size)
        for first in range(0, len(windows), batch):
            results.extend(self._align_batch(samples, windows[first : first + batch]))
        return results

    def _align_batch(self, samples: np.ndarray, windows: Sequence[Window]) -> list[list[Placement]]:
        import ctranslate2

        whisper = self.engine.whisper
        features, frame_counts = [], []
        for window in windows:
            chunk = samples[int(window.start * SAMPLE_RATE) : int(window.end * SAMPLE_RATE)]
            mel = whisper.feature_extractor(chunk)[:, :_FRAMES]
            frame_counts.append(max(1, min(mel.shape[1], chunk.size // _HOP)))
            features.append(np.pad(mel, ((0, 0), (0, _FRAMES - mel.shape[1]))))
        encoded = whisper.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(features), dtype=np.float32)),
            to_cpu=False,
        )
        per_word = [[self.word_tokens(w) for w in window.words] for window in windows]
        text_tokens = [[t for tokens in words for t in tokens] for words in per_word]
        raw = whisper.model.align(
            encoded, self.tokenizer.sot_sequence, text_tokens, frame_counts, median_filter_width=7
        )
        return [
            _placements(result, tokens, window.start)
            for result, tokens, window in zip(raw, per_word, windows)
        ]


def _placements(result: object, per_word: list[list[int]], offset: float) -> list[Placement]:
    """Word times from the DTW path: a word starts where the path first reaches its first token."""
    pairs = np.asarray(result.alignments, dtype=np.int64).reshape(-1, 2)  # type: ignore[attr-defined]
    probs = np.asarray(result.text_token_probs, dtype=np.float64)  # type: ignore[attr-defined]
    text_idx, time_idx = pairs[:, 0], pairs[:, 1]
    jumps = np.concatenate([[True], np.diff(text_idx) != 0])
    jump_times = time_idx[jumps] / _TOKENS_PER_SECOND
    bounds = np.concatenate([[0], np.cumsum([len(t) for t in per_word])])
    placements = []
    for k in range(len(per_word)):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        start = float(jump_times[min(lo, len(jump_times) - 1)])
        end = float(jump_times[min(hi, len(jump_times) - 1)])
        prob = float(np.mean(probs[lo:hi])) if hi > lo and hi <= probs.size else 0.0
        placements.append(Placement(offset + start, offset + max(end, start), prob))
    return placements
