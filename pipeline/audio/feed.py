"""An episode's audio decoding in the background while the model works on what is decoded.

Decoding is one core's work (an hour of MP3 takes 18 s on the 2-core test
machine, 8 s on a GPU machine's CPU), and the model would wait for all of it.
A :class:`Feed` decodes in its own thread and hands out the samples decoded so
far, so the speech chunks planned over them (:func:`pipeline.audio.chunks.arriving`)
go to the model while the rest of the file decodes. The file's checks (cut
short, damaged, silent) come when the decoding ends, and :meth:`Feed.result`
raises what they find, as :func:`pipeline.audio.decode` does.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from pipeline.audio import decoder
from pipeline.audio.decoder import SAMPLE_RATE, estimated_seconds


class _Stopped(Exception):
    """The feed was closed while its file was decoding."""


class Feed:
    """The samples of ``path`` (16 kHz mono float32) as its decoding thread produces them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.expected = estimated_seconds(path)  # the length the header gives, if any
        self._lock = threading.Condition()
        self._pieces: list[np.ndarray] = []
        self._starts: list[int] = []  # the sample each piece starts at
        self._count = 0
        self._whole: np.ndarray | None = None  # the pieces joined, once all are in
        self._samples: np.ndarray | None = None  # the whole, once decoded and checked
        self._error: BaseException | None = None
        self._done = self._stop = False
        self.restarted = False  # decoded twice (a stereo mix that cancels): what was handed out is void
        self._thread = threading.Thread(target=self._run, name="subpipe-decode", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- the decoding thread's side

    def _run(self) -> None:
        try:
            samples = decoder.decode(self.path, self)  # looked up now: a test's stand-in is the one run
        except _Stopped:
            samples = None
        except BaseException as exc:  # handed to the reader: raised in its thread
            with self._lock:
                self._error, self._done = exc, True
                self._pieces, self._starts, self._whole = [], [], None
                self._lock.notify_all()
            return
        with self._lock:
            self._samples, self._done = samples, True
            self._pieces, self._starts, self._whole = [], [], None
            self._lock.notify_all()

    def add(self, samples: np.ndarray) -> None:
        with self._lock:
            if self._stop:
                raise _Stopped
            self._pieces.append(samples)
            self._starts.append(self._count)
            self._count += samples.size
            self._lock.notify_all()

    def join(self) -> np.ndarray:
        with self._lock:
            self._whole = np.concatenate(self._pieces) if self._pieces else np.zeros(0, np.float32)
            self._pieces, self._starts = [], []
            return self._whole

    def restart(self) -> None:
        with self._lock:
            self._pieces, self._starts, self._count, self._whole = [], [], 0, None
            self.restarted = True
            self._lock.notify_all()

    # ---------------------------------------------------------------- the reader's side

    @property
    def seconds(self) -> float:
        """Seconds decoded so far (all of them, once done)."""
        with self._lock:
            size = self._samples.size if self._samples is not None else self._count
        return size / SAMPLE_RATE

    @property
    def done(self) -> bool:
        with self._lock:
            return self._done

    def wait(self, seconds: float, timeout: float = 0.5) -> float:
        """Block until ``seconds`` are decoded or the decoding ends (at most ``timeout`` s); return
        the seconds decoded. Raises the decoding's error, once it failed."""
        wanted = int(seconds * SAMPLE_RATE)
        with self._lock:
            self._lock.wait_for(lambda: self._done or self._count >= wanted, timeout)
            if self._error is not None:
                raise self._error
            size = self._samples.size if self._samples is not None else self._count
        return size / SAMPLE_RATE

    def __getitem__(self, part: slice) -> np.ndarray:
        """Samples ``part.start`` to ``part.stop`` (as an array's slice) of those decoded so far."""
        with self._lock:
            if self._samples is not None:
                return self._samples[part]
            if self._whole is not None:
                return self._whole[part]
            start, stop, _ = part.indices(self._count)
            first = max(0, int(np.searchsorted(self._starts, start, side="right")) - 1)
            pieces = []
            for k in range(first, len(self._pieces)):
                at = self._starts[k]
                if at >= stop:
                    break
                piece = self._pieces[k]
                pieces.append(piece[max(0, start - at) : stop - at])
        return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)

    def result(self) -> np.ndarray:
        """All the samples, once the decoding has ended; raises what :func:`~pipeline.audio.decode` raises."""
        with self._lock:
            while not self._done:  # in steps, so a signal's handler runs in this thread meanwhile
                self._lock.wait(0.5)
            if self._error is not None:
                raise self._error
            assert self._samples is not None
            return self._samples

    def close(self) -> None:
        """Stop the decoding (the run is over or unwinding); what it decoded is dropped."""
        with self._lock:
            self._stop = True
            self._pieces, self._starts, self._whole = [], [], None
        self._thread.join(timeout=1.0)

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
