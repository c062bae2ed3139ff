"""Whisper encoder outputs of an episode's windows: computed once, kept on disk.

Transcription, the ASR's word timing and the reference alignment all read the
same encoding of a window. Outputs wait in a temporary folder rather than in
memory, so an episode of any length runs in bounded memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.chunks import Chunk
from pipeline.engine import Engine

HOP = 160
FRAMES = 3000  # mel frames in Whisper's 30 s input
_PREFIX = "subpipe-enc-"  # + the owner's pid, so a killed run's folder can be told from a live one's


def _sweep_orphans() -> None:
    """Remove the encoding folders of runs that were killed (SIGKILL skips their cleanup)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        owner = folder.name[len(_PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


class EncodedAudio:
    def __init__(
        self, engine: Engine, samples: np.ndarray, chunks: Sequence[Chunk], pad: bool = True
    ) -> None:
        self.engine, self.samples, self.chunks, self.pad = engine, samples, list(chunks), pad
        _sweep_orphans()
        self._folder = tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}-")
        self._stored: set[int] = set()

    def close(self) -> None:
        self._folder.cleanup()

    def __enter__(self) -> EncodedAudio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def encode(self, indices: Sequence[int]) -> object:
        """Encode windows (a StorageView, batch in ``indices`` order) and keep the result."""
        encoded = encode_audio(self.engine, [self._audio(i) for i in indices], self.pad)
        array = np.asarray(encoded)
        for row, index in zip(array, indices):
            np.save(self._path(index), row.astype(np.float16))
            self._stored.add(index)
        return encoded

    def load(self, indices: Sequence[int]) -> object:
        """The kept encodings of ``indices``, encoding any that are not kept yet."""
        import ctranslate2

        missing = [i for i in indices if i not in self._stored]
        if missing:
            self.encode(missing)
        rows = [np.load(self._path(i)).astype(np.float32) for i in indices]
        width = max(row.shape[0] for row in rows)  # unpadded windows differ; the frame counts cut the tails
        rows = [np.pad(row, ((0, width - row.shape[0]), (0, 0))) for row in rows]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(rows)))

    def _audio(self, index: int) -> np.ndarray:
        chunk = self.chunks[index]
        return self.samples[int(chunk.start * SAMPLE_RATE) : int(chunk.end * SAMPLE_RATE)]

    def _path(self, index: int) -> Path:
        return Path(self._folder.name) / f"{index}.npy"


def encode_audio(engine: Engine, pieces: Sequence[np.ndarray], pad: bool = True) -> object:
    """Log-mel features of each piece, encoded into one batch of outputs.

    ``pad`` fills each piece to Whisper's 30 s, as transcription needs (on
    shorter input it loops and drops words). Alignment reads the known text
    and copes without: unpadded, a 10 s window encodes ~2x cheaper per second
    than a padded 30 s one, since the encoder's attention is quadratic.

    On the CPU windows go through the encoder one at a time: measured here,
    four windows one by one took 0.63 of the time of one batch of four, and a
    batch's attention scores (1500 x 1500 per head) cost 70 MB per window.
    """
    import ctranslate2

    whisper = engine.whisper
    features = []
    mels = [whisper.feature_extractor(piece)[:, :FRAMES] for piece in pieces]
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


def frame_count(piece_seconds: float) -> int:
    return max(1, min(FRAMES, int(piece_seconds * SAMPLE_RATE) // HOP))


def select(storage: object, rows: Sequence[int]) -> object:
    """The given batch rows of an encoder output, as a new StorageView."""
    import ctranslate2

    array = np.asarray(storage)
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(array[list(rows)]))
