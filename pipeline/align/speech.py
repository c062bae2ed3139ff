"""The audio side of an alignment: the samples, their energy envelope, the encoded chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE, Envelope, envelope
from pipeline.audio.chunks import Chunk


@dataclass(frozen=True, slots=True, eq=False)
class Speech:
    """An episode's audio as the aligner reads it.

    ``chunks`` are the stretches Whisper encoded (their encodings are reused
    for windows that are whole chunks); none when nothing was encoded.
    """

    samples: np.ndarray
    env: Envelope
    chunks: tuple[Chunk, ...] = ()

    @classmethod
    def of(cls, samples: np.ndarray, chunks: Sequence[Chunk] = (), env: Envelope | None = None) -> Speech:
        return cls(samples, env if env is not None else envelope(samples), tuple(chunks))

    @property
    def duration(self) -> float:
        return self.samples.size / SAMPLE_RATE
