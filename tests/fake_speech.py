"""Synthetic speech for the aligner's unit tests: no model, known truth.

A ``Script`` is what was really said, word by word with times. From it come
audio whose energy shows the words (noise bursts over a quiet floor), ASR words
(the said words, any of them misheard or dropped at will), and a fake
cross-attention that places a window's words where they were said, as the real
one does when the text and the speech agree; words it cannot find in the window
are crammed into its last frames with a low probability, as the real one does
with text the audio does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.align import Speech
from pipeline.audio import SAMPLE_RATE
from pipeline.audio.chunks import Chunk
from pipeline.normalize import normalize_word
from pipeline.types import Line, Word
from pipeline.whisper.attention import Placement, Window


@dataclass(frozen=True)
class Said:
    text: str
    start: float
    end: float


def say(lines: Sequence[str], start: float = 0.5, pause: float = 0.8, letter: float = 0.07) -> list[Said]:
    """Words of ``lines`` said one after another: ``letter`` seconds a letter, 60 ms between words."""
    out: list[Said] = []
    t = start
    for line in lines:
        for word in line.split():
            length = max(0.12, letter * len("".join(normalize_word(word))))
            out.append(Said(word, round(t, 3), round(t + length, 3)))
            t += length + 0.06
        t += pause - 0.06
    return out


def as_lines(*texts: str) -> list[Line]:
    return [Line(i, text, f"line {i}") for i, text in enumerate(texts)]


def asr(said: Sequence[Said], heard_as: dict[int, str] | None = None, drop: Sequence[int] = ()) -> list[Word]:
    """What a perfect ASR would report, with words ``drop``ped and some ``heard_as`` something else."""
    heard_as = heard_as or {}
    return [
        Word(heard_as.get(k, s.text).lower().strip(".,!?"), s.start, s.end, 0.9)
        for k, s in enumerate(said)
        if k not in drop
    ]


def audio(said: Sequence[Said], duration: float, seed: int = 0, voiced: bool = False) -> np.ndarray:
    """Noise bursts where words are said, over a floor 50 dB down; ``voiced``: a 120 Hz buzz instead."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.0, 0.001, int(duration * SAMPLE_RATE)).astype(np.float32)
    for s in said:
        a, b = int(s.start * SAMPLE_RATE), int(s.end * SAMPLE_RATE)
        samples[a:b] += buzz(b - a, rng) if voiced else noise(b - a, rng)
    return samples


def noise(n: int, rng: np.random.Generator, level: float = 0.2) -> np.ndarray:
    """Breath, a click, a fricative: broadband noise, no pitch."""
    return rng.normal(0.0, level, n).astype(np.float32)


def buzz(n: int, rng: np.random.Generator, level: float = 0.2) -> np.ndarray:
    """A voiced sound: harmonics of 120 Hz with a little noise."""
    t = np.arange(n) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * 120 * h * t) / h for h in range(1, 12))
    return (level * tone / np.abs(tone).max() + rng.normal(0.0, level / 20, n)).astype(np.float32)


def speech(said: Sequence[Said], duration: float, chunks: Sequence[Chunk] = ()) -> Speech:
    return Speech.of(audio(said, duration), chunks)


@dataclass
class FakeAttention:
    """Places each window's words where they were said inside the window, in order."""

    said: Sequence[Said]
    windows: list[Window] = field(default_factory=list)  # every window it was asked to place

    def token_count(self, words: Sequence[str]) -> int:
        return sum(max(1, len(w) // 3) for w in words)

    def __call__(self, samples: np.ndarray, windows: Sequence[Window]) -> list[list[Placement]]:
        self.windows.extend(windows)
        return [self._place(w) for w in windows]

    def _place(self, window: Window) -> list[Placement]:
        inside = [s for s in self.said if s.start >= window.start - 0.05 and s.end <= window.end + 0.05]
        out: list[Placement] = []
        k = 0
        for word in window.words:
            key = normalize_word(word)
            found = next((n for n in range(k, len(inside)) if normalize_word(inside[n].text) == key), None)
            if found is None:
                out.append(Placement(window.end - 0.02, window.end, 0.02))
                continue
            out.append(Placement(inside[found].start, inside[found].end, 0.8))
            k = found + 1
        return out
