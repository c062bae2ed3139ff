"""Audio in: any file ffmpeg reads, decoded once to 16 kHz mono float32.

PyAV (a faster-whisper dependency) bundles ffmpeg, so no system ffmpeg is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline import interrupts
from pipeline.audio.ends import broken_end
from pipeline.errors import AudioError
from pipeline.fileio import check_input

SAMPLE_RATE = 16_000
# Six hours are 1.4 GB of samples and a run holds a few times that: the limit
# turns a wrong file (a day-long stream) into a message instead of a crash.
MAX_SECONDS = 6 * 3600
# A file that never gets louder than -60 dBFS holds nothing audible: a muted
# or blank export, not a recording.
SILENT_PEAK = 10 ** (-60 / 20)
# Lost stretches up to this share of the audio are bridged with silence;
# beyond it most lines would come out unspoken, so the file is refused.
MAX_DAMAGED_SHARE = 0.25

# A jump in timestamps longer than this is lost audio; one longer than
# _MAX_GAP is a damaged timestamp, not a minute of lost packets.
_MIN_GAP = 0.01
_MAX_GAP = 60.0
# Blocks above glibc's largest mmap threshold (32 MiB) go back to the system
# when freed, so joining them costs little more memory than the result.
_BLOCK = 1 << 24
# Stereo channels wired in opposite polarity cancel in the mix; a mix this far
# (-20 dB) below the louder channel means that, and that channel is used alone.
_CANCELLED = 0.01
# Containers whose header states the exact length (MP3 only with a Xing/Info
# header, WAV read from its data chunk): a shortfall there means a cut file.
# Others (Ogg, MP3 and AAC without one) are judged by how they end (audio/ends.py).
_EXACT_LENGTH = ("flac", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm")


class Sink(Protocol):
    """Where decoded samples go as they come (:class:`pipeline.audio.feed.Feed`)."""

    def add(self, samples: np.ndarray) -> None: ...

    def join(self) -> np.ndarray:
        """All the samples added, as one array (the sink keeps them: they are not kept twice)."""
        ...

    def restart(self) -> None:
        """The samples so far are void: the file is decoded again from its start."""


def decode(path: str | Path, sink: Sink | None = None) -> np.ndarray:
    """Decode the first audio track of ``path`` to a mono float32 array at 16 kHz.

    A few damaged packets are skipped and their time filled with silence, so
    the speech after them keeps its timing. Raises ``InputNotFound``, and
    ``AudioError`` for a file that is not audio, has no audio track, is cut
    short, badly damaged, silent, or longer than ``MAX_SECONDS``. ``sink``
    is handed the samples as they are decoded (the checks come at the end).
    """
    import av

    path = Path(path)
    check_file(path)
    try:
        track = _decode_file(path, sink=sink)
        if track.cancelled:
            if sink is not None:
                sink.restart()
            track = _decode_file(path, channel=track.loudest, sink=sink)
    except AudioError:
        raise
    except av.error.FFmpegError as exc:
        raise AudioError(path, _ffmpeg_problem(exc)) from exc
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc}); check the file's permissions"
        raise AudioError(path, problem) from exc
    if track.samples.size < SAMPLE_RATE // 10:
        raise AudioError(path, "audio is shorter than 0.1 s; give the episode's recording")
    if track.peak < SILENT_PEAK:
        raise AudioError(
            path,
            "is silent: nothing in it is louder than -60 dBFS; "
            "check that it is the episode's recording and that it plays",
        )
    return track.samples


def check_file(path: Path) -> None:
    """Raise ``InputNotFound`` or ``AudioError`` unless ``path`` is a readable, non-empty file."""
    info = check_input(path, "audio file", AudioError)
    if info.st_size == 0:
        raise AudioError(path, "audio file is empty (0 bytes); copy or export it again")


@dataclass
class _Track:
    samples: np.ndarray
    peak: float  # largest magnitude, full scale 1.0
    cancelled: bool  # the two channels of a stereo file cancel each other out in the mix
    loudest: int  # the channel with the most energy, for a stereo file


def _decode_file(path: Path, channel: int | None = None, sink: Sink | None = None) -> _Track:
    """One pass over the file; ``channel`` takes that channel of a stereo file instead of the mix."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioError(path, _no_audio_problem(container))
        declared = _declared_seconds(path, container, stream)
        if declared is not None and declared > MAX_SECONDS:
            raise AudioError(path, _too_long(declared))
        if declared is None:  # nothing to measure a shortfall against: look at how the file ends
            _check_end(path, container)
        reader = _Reader(channel, float(stream.time_base or 0.0))
        store = _Store(path, sink)
        try:
            for frame in _frames(container, stream, reader):
                for piece in reader.samples(frame):
                    store.add(piece)
        except av.error.InvalidDataError:
            # The container itself breaks off here: keep what came before;
            # finish() compares it with the length the header promised.
            if not reader.frames:
                raise
        for piece in reader.flush():
            store.add(piece)
        return reader.finish(path, declared, store.join())


def _frames(container: Any, stream: Any, reader: _Reader) -> Iterator[Any]:
    """The stream's decoded frames in order; a damaged packet is counted in ``reader`` and skipped."""
    import av

    for packet in container.demux(stream):
        # PyAV's resampler swallows a KeyboardInterrupt raised inside it (half
        # of the signals sent while a 45-min MP3 decoded were lost), so the
        # signal is looked for here, between packets, as well.
        interrupts.check()
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            reader.damaged_packets += 1
            continue
        yield from frames


class _Reader:
    """Decoded frames in, 16 kHz mono float32 pieces out, with lost stretches filled by silence.

    It keeps no samples, only what it learns on the way (lost time, channel
    energies), so its pieces can be stored whole or handed on as they come.
    """

    def __init__(self, channel: int | None, time_base: float) -> None:
        self.channel = channel
        self._time_base = time_base  # the stream's, which its decoded frames share
        self.frames = 0
        self.damaged_packets = 0
        self._first: float | None = None  # input time of the first frame
        self._expected = 0.0  # input time where the next frame should start
        self._filled = 0.0  # seconds of silence put in for lost stretches
        self._power = np.zeros(3)  # stereo only: energy of the left, right and mixed channels
        self._stereo = False
        self._setup: tuple[str, str, int] | None = None
        self._resampler: Any = None

    def samples(self, frame: Any) -> Iterator[np.ndarray]:
        """The pieces ``frame`` completes (the resampler holds some back until a whole second is in)."""
        import av

        if not frame.samples:
            return
        self.frames += 1
        start = frame.pts * self._time_base if frame.pts is not None and self._time_base else None
        if self._first is None:
            self._first = self._expected = start or 0.0
        elif start is not None and _MIN_GAP < start - self._expected <= _MAX_GAP:
            # Packets before this frame were lost (damaged, or skipped by the
            # demuxer to find its feet again): keep what follows in its place.
            gap = start - self._expected
            self._filled += gap
            yield from self.flush()  # what the resampler holds comes before the gap
            yield np.zeros(round(gap * SAMPLE_RATE), dtype=np.float32)
            self._expected = start
        self._expected += frame.samples / frame.sample_rate
        setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        if setup != self._setup or self._resampler is None:
            # A resampler takes one input format; some files change it midway.
            yield from self.flush()
            self._setup = setup
            self._stereo = frame.layout.nb_channels == 2
            layout = "stereo" if self._stereo else "mono"
            # Whole seconds out, however small the codec's frames: far fewer
            # trips through Python for a long MP3 (26 ms frames).
            self._resampler = av.AudioResampler(
                format="s16", layout=layout, rate=SAMPLE_RATE, frame_size=SAMPLE_RATE
            )
        for piece in self._resampler.resample(frame):
            yield self._mono(piece)

    def flush(self) -> Iterator[np.ndarray]:
        """What the resampler still holds."""
        if self._resampler is not None:
            for piece in self._resampler.resample(None):
                yield self._mono(piece)
            self._resampler = None

    def _mono(self, piece: Any) -> np.ndarray:
        data = piece.to_ndarray().reshape(-1)
        if self._stereo:
            # The mix is the average of the channels, as ffmpeg's own downmix;
            # the energies tell whether that average cancels the speech out.
            pair = data.reshape(-1, 2).astype(np.float32)
            mono = pair[:, self.channel] if self.channel is not None else pair.mean(axis=1)
            self._power += [
                float(np.dot(pair[:, 0], pair[:, 0])),
                float(np.dot(pair[:, 1], pair[:, 1])),
                float(np.dot(mono, mono)),
            ]
            data = mono
        return np.multiply(data, np.float32(1 / 32768), dtype=np.float32)

    def finish(self, path: Path, declared: float | None, samples: np.ndarray) -> _Track:
        """The decoded ``samples`` as a track, or the ``AudioError`` that what was read calls for."""
        if not self.frames:
            if self.damaged_packets:
                problem = "cannot decode audio: every packet is damaged; export or copy it again"
                raise AudioError(path, problem)
            problem = "cannot decode audio: no sound can be read from it; export it again as MP3, WAV or FLAC"
            raise AudioError(path, problem)
        length = self._expected - (self._first or 0.0)
        # Damage an MP3 demuxer skips over leaves no trace in the timestamps,
        # only a shortfall: beyond a quarter second the timings would drift.
        if declared is not None and length < declared - 0.25 - 0.001 * declared:
            raise AudioError(
                path,
                f"is cut short or damaged: its header says it lasts {declared:.1f} s, but only "
                f"{length:.1f} s of audio can be decoded; copy or export the file again",
            )
        if self._filled > MAX_DAMAGED_SHARE * length:
            raise AudioError(
                path,
                f"is badly damaged: {self._filled:.1f} s of its {length:.1f} s cannot be decoded; "
                "export or copy the file again",
            )
        left, right, mix = self._power
        loud = max(left, right)
        return _Track(
            samples=samples,
            peak=max(float(samples.max()), -float(samples.min())) if samples.size else 0.0,
            cancelled=self.channel is None and loud > 0 and mix < _CANCELLED * loud,
            loudest=0 if left >= right else 1,
        )


class _Store:
    """Samples collected in large blocks and joined block by block at the end,
    so decoding needs little more memory than its result; or handed to a sink, which keeps them."""

    def __init__(self, path: Path, sink: Sink | None = None) -> None:
        self.path, self.sink = path, sink
        self._blocks: list[np.ndarray] = []
        self._block = np.empty(0, dtype=np.float32)
        self._used = 0  # samples filled in the current block
        self._size = 0  # samples in all

    def add(self, samples: np.ndarray) -> None:
        if self._size + samples.size > MAX_SECONDS * SAMPLE_RATE:
            raise AudioError(self.path, _too_long(None))
        if self.sink is not None:
            self._size += samples.size
            self.sink.add(samples)
            return
        at = 0
        while at < samples.size:
            if self._used == self._block.size:
                if self._block.size:
                    self._blocks.append(self._block)
                self._block = np.empty(_BLOCK, dtype=np.float32)
                self._used = 0
            count = min(samples.size - at, self._block.size - self._used)
            self._block[self._used : self._used + count] = samples[at : at + count]
            self._used += count
            at += count
        self._size += samples.size

    def join(self) -> np.ndarray:
        if self.sink is not None:
            return self.sink.join()
        blocks = [*self._blocks, self._block[: self._used]]
        self._blocks, self._block = [], np.empty(0, dtype=np.float32)
        samples = np.empty(self._size, dtype=np.float32)
        at = 0
        # Freed one by one as they are copied, so the blocks and the result
        # are never all held at once.
        while blocks:
            block = blocks.pop(0)
            samples[at : at + block.size] = block
            at += block.size
            del block
        return samples


def _declared_seconds(path: Path, container: Any, stream: Any) -> float | None:
    """The length the file's header states where it is exact, else None.

    ffmpeg estimates some lengths from the bit rate, and clamps a WAV's to
    the bytes present; neither can show that a file was cut short.
    """
    name = container.format.name
    if name == "wav":
        return _wav_seconds(path)
    if name not in _EXACT_LENGTH and not (name == "mp3" and _mp3_counts_frames(path)):
        return None
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def estimated_seconds(path: str | Path) -> float | None:
    """The length ffmpeg reads or guesses from the file's header (for progress while it decodes)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return container.duration / 1_000_000 if container.duration else None
    except (av.error.FFmpegError, OSError):
        return None


def states_its_length(path: str | Path) -> bool:
    """Whether ``path``'s header states its exact length, which decoding checked (a WAV, FLAC, MP4, ...).

    Where it does not (Ogg; MP3 and AAC without a length header) a cut that
    fell between two frames leaves no trace in the file.
    """
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            return stream is not None and _declared_seconds(Path(path), container, stream) is not None
    except (av.error.FFmpegError, OSError):
        return False


def _check_end(path: Path, container: Any) -> None:
    """Raise ``AudioError`` for a file that breaks off inside its last page or frame (a cut copy)."""
    broken = broken_end(path, container.format.name)
    if broken is None:
        return
    # ffmpeg guesses an ADTS file's length from its bit rate (74 s for a 60 s file): no figure there.
    known = container.duration and container.format.name != "aac"
    present = f" after {container.duration / 1_000_000:.1f} s" if known else ""
    raise AudioError(
        path,
        f"is cut short: it breaks off in the middle of {broken}{present} (an interrupted copy "
        "or download?); copy or export the file again",
    )


def _wav_seconds(path: Path) -> float | None:
    """Length from a RIFF/WAVE header's data chunk; None where a streaming writer left it open."""
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        for _ in range(64):  # a real header has a handful of chunks before the data
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"data":
                return size / byte_rate if byte_rate and 0 < size < 0xFFFFFFFF else None
            if kind == b"fmt ":
                fmt = handle.read(min(size, 64))
                byte_rate = int.from_bytes(fmt[8:12], "little") if len(fmt) >= 12 else 0
                size -= len(fmt)
            handle.seek(size + (size & 1), 1)  # chunks are padded to even sizes
    return None


def _mp3_counts_frames(path: Path) -> bool:
    """Whether an MP3's first frame is a Xing, Info or VBRI header, which gives its exact length."""
    with path.open("rb") as handle:
        head = handle.read(10)
        offset = 0
        if len(head) == 10 and head[:3] == b"ID3":
            offset = 10 + sum((head[6 + k] & 0x7F) << (21 - 7 * k) for k in range(4))
            offset += 10 if head[5] & 0x10 else 0  # footer
        handle.seek(offset)
        first = handle.read(256)  # the tag follows the frame header and side information
    return any(tag in first for tag in (b"Xing", b"Info", b"VBRI"))


def _no_audio_problem(container: Any) -> str:
    if any(s.type == "video" for s in container.streams):
        return "is a video without a sound track; give the episode's audio, or a video with sound"
    return "has no audio track; give the episode's audio file"


def _too_long(seconds: float | None) -> str:
    hours = MAX_SECONDS // 3600
    length = f"is {seconds / 3600:.1f} hours long" if seconds is not None else f"lasts over {hours} hours"
    return f"{length}; subpipe takes at most {hours} hours of audio per episode; split it into parts"


def _ffmpeg_problem(exc: Exception) -> str:
    import av

    if isinstance(exc, av.error.InvalidDataError):
        return (
            "cannot decode audio: not a format ffmpeg reads, or its header is damaged; "
            "export it again as MP3, WAV or FLAC"
        )
    if isinstance(exc, av.error.EOFError):
        return "cannot decode audio: the file ends before any sound (cut short?); copy or export it again"
    reason = getattr(exc, "strerror", None) or _short(exc)
    return f"cannot decode audio ({reason}); export it again as MP3, WAV or FLAC"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def duration(samples: np.ndarray) -> float:
    return samples.size / SAMPLE_RATE
