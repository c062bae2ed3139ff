"""Whisper encoder outputs of an episode's speech chunks: computed once, kept on disk.

Transcription, the ASR's word timing and the reference alignment all read the
same encoding of a chunk. Outputs wait in a temporary folder rather than in
memory, so an episode of any length runs in bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.chunks import Chunk
from pipeline.audio.feed import Feed
from pipeline.fileio import scratch_folder
from pipeline.whisper.engine import Engine

HOP = 160
FRAMES = 3000  # mel frames in Whisper's 30 s input
_PREFIX = "subpipe-enc-"


class EncodedAudio:
    def __init__(
        self,
        engine: Engine,
        samples: np.ndarray | Feed,  # a feed while the audio decodes: its chunks' samples are in
        chunks: Sequence[Chunk],
        pad: bool = True,
        squeeze: float = 1.0,
    ) -> None:
        self.engine, self.samples, self.chunks, self.pad = engine, samples, list(chunks), pad
        self.squeeze = squeeze
        self._folder = scratch_folder(_PREFIX)
        self._stored: set[int] = set()

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Chunks planned later (the audio still decoding), after those there are."""
        self.chunks.extend(chunks)

    def clear(self) -> None:
        """No chunks, nothing kept (the audio was decoded again)."""
        self.chunks, self._stored = [], set()

    def close(self) -> None:
        self._folder.cleanup()

    def __enter__(self) -> EncodedAudio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def encode(self, indices: Sequence[int]) -> object:
        """Encode chunks (a StorageView, batch in ``indices`` order) and keep the result."""
        encoded = encode_audio(self.engine, [self._audio(i) for i in indices], self.pad, self.squeeze)
        array = np.asarray(encoded)
        for row, index in zip(array, indices):
            np.save(self._path(index), row.astype(np.float16))
            self._stored.add(index)
        return encoded

    def kept(self, index: int) -> bool:
        """Whether chunk ``index`` is encoded already (loading it costs no encoder pass)."""
        return index in self._stored

    def load(self, indices: Sequence[int]) -> object:
        """The kept encodings of ``indices``, encoding any that are not kept yet."""
        import ctranslate2

        missing = [i for i in indices if i not in self._stored]
        if missing:
            self.encode(missing)
        rows = [np.load(self._path(i)).astype(np.float32) for i in indices]
        width = max(row.shape[0] for row in rows)  # unpadded chunks differ; the frame counts cut the tails
        rows = [np.pad(row, ((0, width - row.shape[0]), (0, 0))) for row in rows]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(rows)))

    def _audio(self, index: int) -> np.ndarray:
        chunk = self.chunks[index]
        return self.samples[int(chunk.start * SAMPLE_RATE) : int(chunk.end * SAMPLE_RATE)]

    def _path(self, index: int) -> Path:
        return Path(self._folder.name) / f"{index}.npy"


def encode_audio(
    engine: Engine, pieces: Sequence[np.ndarray], pad: bool = True, squeeze: float = 1.0
) -> object:
    """Log-mel features of each piece, encoded into one batch of outputs.

    ``pad`` fills each piece to Whisper's 30 s, as transcription needs (on
    shorter input it loops and drops words). Alignment reads the known text
    and copes without: unpadded, a 10 s window encodes ~2x cheaper per second
    than a padded 30 s one, since the encoder's attention is quadratic.

    On the CPU windows go through the encoder one at a time: measured here,
    four windows one by one took 0.63 of the time of one batch of four, and a
    batch's attention scores (1500 x 1500 per head) cost 70 MB per window.

    ``squeeze`` > 1 plays the speech that much faster to the encoder (see
    :func:`squeeze_time`); only unpadded alignment windows take it.
    """
    import ctranslate2

    whisper = engine.whisper
    features = []
    mels = [squeeze_time(engine.features(piece)[:, :FRAMES], squeeze) for piece in pieces]
    width = FRAMES if pad else max(m.shape[1] for m in mels) + max(m.shape[1] for m in mels) % 2
    for mel in mels:
        features.append(np.pad(mel, ((0, 0), (0, width - mel.shape[1]))).astype(np.float32))
    if engine.device != "cpu":
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(features)))
        # On the CPU side: the outputs are kept on disk between stages (see EncodedAudio).
        return whisper.model.encode(batch, to_cpu=True)
    outputs = [
        np.asarray(whisper.model.encode(ctranslate2.StorageView.from_array(f[None]), to_cpu=True))[0]
        for f in features
    ]
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(outputs)))


def squeeze_time(mel: np.ndarray, squeeze: float) -> np.ndarray:
    """The log-mel frames of the same speech said ``squeeze`` times faster.

    Frames are resampled along time, pitch and spectrum untouched, as a
    time-stretch would leave them. The encoder's cost falls with the frame
    count, and Whisper reads fast speech well enough to place known words.
    """
    if squeeze == 1.0 or mel.shape[1] < 2:
        return mel
    count = max(1, int(np.ceil(mel.shape[1] / squeeze)))
    position = np.minimum(np.arange(count) * squeeze, mel.shape[1] - 1)
    left = np.minimum(position.astype(np.int64), mel.shape[1] - 2)
    share = (position - left).astype(mel.dtype)
    return np.ascontiguousarray(mel[:, left] * (1 - share) + mel[:, left + 1] * share)


def frame_count(piece_seconds: float, squeeze: float = 1.0) -> int:
    """Mel frames the encoder sees for a piece of audio: as many as :func:`squeeze_time` leaves."""
    return max(1, min(FRAMES, int(np.ceil(int(piece_seconds * SAMPLE_RATE) // HOP / squeeze))))


def select(storage: object, rows: Sequence[int]) -> object:
    """The given batch rows of an encoder output, as a new StorageView."""
    import ctranslate2

    array = np.asarray(storage)
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(array[list(rows)]))
