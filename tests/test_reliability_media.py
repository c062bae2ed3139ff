"""Bad audio at the decoder: damaged, cut short, video, silent, stereo, telephone, hours long.

Also the media helpers the other reliability tests use: real speech from the
sample, re-encoded with PyAV into whatever container a producer's tools export.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipeline import audio
from pipeline.audio import SAMPLE_RATE, decode
from pipeline.errors import AudioError, InputNotFound
from tests.conftest import ROOT

# ---------------------------------------------------------------- helpers


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """16 kHz mono float32 samples at another rate, through ffmpeg's own resampler."""
    import av

    if rate == SAMPLE_RATE:
        return samples
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    pieces = [p.to_ndarray().reshape(-1) for p in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(pieces).astype(np.float32)


def encode(
    path: Path,
    samples: np.ndarray | None,
    rate: int = SAMPLE_RATE,
    codec: str | None = "pcm_s16le",
    *,
    video: str | None = None,
    video_seconds: float = 3.0,
) -> Path:
    """Write ``samples`` (mono ``(n,)`` or stereo ``(n, 2)``, at ``rate``) with ``codec``, and a video track.

    ``samples=None`` writes a video without sound. The container is chosen
    from the file name, as a producer's tool would.
    """
    import av

    with av.open(str(path), "w") as out:
        sound = None
        if samples is not None:
            layout = "stereo" if samples.ndim == 2 else "mono"
            sound = out.add_stream(codec, rate=rate, layout=layout)
        picture = None
        if video is not None:
            picture = out.add_stream(video, rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        if sound is not None and samples is not None:
            _encode_sound(out, sound, samples, rate)
        if picture is not None:
            seconds = samples.shape[0] / rate if samples is not None else video_seconds
            for k in range(int(seconds * 10)):
                image = np.full((48, 64, 3), (k * 7) % 255, dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = k
                out.mux(picture.encode(frame))
            out.mux(picture.encode(None))
    return path


def _encode_sound(out: object, stream: object, samples: np.ndarray, rate: int) -> None:
    import av

    fmt = stream.codec_context.format.name  # type: ignore[attr-defined]
    layout = "stereo" if samples.ndim == 2 else "mono"
    block = stream.codec_context.frame_size or 4096  # type: ignore[attr-defined]
    data = samples.reshape(samples.shape[0], -1)
    for first in range(0, data.shape[0], block):
        piece = np.clip(data[first : first + block], -1.0, 1.0)
        piece = np.ascontiguousarray(piece.T) if fmt.endswith("p") else piece.reshape(1, -1)
        base = fmt.rstrip("p")
        if base == "s16":
            piece = (piece * 32767).astype(np.int16)
        elif base == "s32":
            piece = (piece * 2147483647).astype(np.int32)
        else:
            piece = piece.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(piece, format=fmt, layout=layout)
        frame.sample_rate, frame.pts = rate, first
        out.mux(stream.encode(frame))  # type: ignore[attr-defined]
    out.mux(stream.encode(None))  # type: ignore[attr-defined]


def lag_ms(reference: np.ndarray, decoded: np.ndarray, at: float, width: float = 1.0) -> float:
    """Where the second of ``reference`` at ``at`` s is found in ``decoded``, relative to ``at``, in ms."""
    window = reference[int(at * SAMPLE_RATE) : int((at + width) * SAMPLE_RATE)]
    reach = int(0.5 * SAMPLE_RATE)
    search = decoded[int(at * SAMPLE_RATE) - reach : int((at + width) * SAMPLE_RATE) + reach]
    score = np.correlate(search, window, "valid")
    return (int(np.argmax(score)) - reach) * 1000 / SAMPLE_RATE


@pytest.fixture(scope="module")
def speech(sample_samples: np.ndarray) -> np.ndarray:
    """Ten seconds of the sample's speech."""
    return sample_samples[10 * SAMPLE_RATE : 20 * SAMPLE_RATE].copy()


def _one_line_with_path(exc: AudioError | InputNotFound, path: Path) -> None:
    assert str(path) in exc.message and "\n" not in exc.message
    assert ";" in exc.problem, "the message says what to do after the semicolon"


# ---------------------------------------------------------------- not audio at all


def test_missing_folder_fifo_and_empty_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="not found") as missing:
        decode(tmp_path / "nope.mp3")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty") as empty:
        decode(tmp_path / "empty.wav")
    with pytest.raises(AudioError, match="folder") as folder:
        decode(tmp_path)
    os.mkfifo(tmp_path / "pipe.wav")
    with pytest.raises(AudioError, match="not a regular file") as fifo:
        decode(tmp_path / "pipe.wav")  # a FIFO would block forever if opened
    _one_line_with_path(missing.value, tmp_path / "nope.mp3")
    _one_line_with_path(empty.value, tmp_path / "empty.wav")
    _one_line_with_path(folder.value, tmp_path)
    _one_line_with_path(fifo.value, tmp_path / "pipe.wav")
    assert (missing.value.exit_code, empty.value.exit_code) == (3, 5)


@pytest.mark.parametrize("name", ["junk.mp3", "junk.wav", "junk.flac", "junk.ogg"])
def test_junk_cannot_be_decoded(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not audio at all " * 40)
    with pytest.raises(AudioError, match="cannot decode audio") as junk:
        decode(path)
    _one_line_with_path(junk.value, path)
    assert "Errno" not in junk.value.problem  # ffmpeg's errno is no use to a producer


# ---------------------------------------------------------------- damaged and cut short


@pytest.mark.parametrize(("suffix", "codec"), [("mp3", "libmp3lame"), ("wav", "pcm_s16le"), ("flac", "flac")])
def test_a_file_cut_short_is_refused(tmp_path: Path, speech: np.ndarray, suffix: str, codec: str) -> None:
    whole = encode(tmp_path / f"whole.{suffix}", speech, codec=codec)
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(data[: len(data) // 2])  # an interrupted download or copy

    assert abs(decode(whole).size / SAMPLE_RATE - 10.0) < 0.1
    with pytest.raises(AudioError, match="cut short") as caught:
        decode(cut)
    _one_line_with_path(caught.value, cut)
    assert "10.0 s" in caught.value.problem and "copy or export" in caught.value.problem


def test_damaged_flac_frames_become_silence_and_keep_the_timing(tmp_path: Path, speech: np.ndarray) -> None:
    whole = encode(tmp_path / "whole.flac", speech, codec="flac")
    data = bytearray(whole.read_bytes())
    rng = np.random.default_rng(0)
    middle = len(data) // 3
    data[middle : middle + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.flac"
    damaged.write_bytes(bytes(data))

    reference, got = decode(whole), decode(damaged)

    # Dropping the lost frames would pull everything after them earlier.
    assert got.size == reference.size
    assert abs(lag_ms(reference, got, at=8.0)) <= 1.0
    changed = np.flatnonzero(np.abs(got - reference) > 1e-3)
    # One stretch, the damaged one, is lost; every sample outside it is intact.
    assert 0.05 < (changed[-1] - changed[0]) / SAMPLE_RATE < 0.6


def test_corrupt_mp3_frames_are_skipped_not_the_rest_of_the_file(tmp_path: Path, speech: np.ndarray) -> None:
    whole = encode(tmp_path / "whole.mp3", speech, codec="libmp3lame")
    data = bytearray(whole.read_bytes())
    rng = np.random.default_rng(1)
    for at in rng.integers(len(data) // 4, len(data), 200):
        data[at] = int(rng.integers(0, 256))
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(bytes(data))

    got = decode(corrupt)

    # The first bad frame used to end the decoding: 2.9 s of 10 came back.
    assert got.size / SAMPLE_RATE > 9.7
    assert abs(lag_ms(decode(whole), got, at=8.0)) <= 250


def test_a_badly_damaged_file_is_refused(tmp_path: Path, speech: np.ndarray) -> None:
    whole = encode(tmp_path / "whole.flac", speech, codec="flac")
    data = bytearray(whole.read_bytes())
    rng = np.random.default_rng(2)
    middle = len(data) // 4
    data[middle : middle + len(data) // 2] = rng.integers(0, 256, len(data) // 2, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.flac"
    damaged.write_bytes(bytes(data))

    with pytest.raises(AudioError, match="badly damaged") as caught:
        decode(damaged)
    _one_line_with_path(caught.value, damaged)


# ---------------------------------------------------------------- video files


@pytest.mark.parametrize(
    ("name", "codec", "rate", "video"),
    [("episode.mp4", "aac", 44_100, "libx264"), ("episode.webm", "libopus", 48_000, "libvpx")],
)
def test_sound_of_a_video_is_decoded(
    tmp_path: Path, speech: np.ndarray, name: str, codec: str, rate: int, video: str
) -> None:
    path = encode(tmp_path / name, resample(speech, rate), rate, codec, video=video)

    got = decode(path)

    assert abs(got.size / SAMPLE_RATE - 10.0) < 0.1
    assert abs(lag_ms(speech, got, at=5.0)) <= 30  # codec priming, not drift
    assert 0.8 < np.std(got) / np.std(speech) < 1.2


def test_video_without_sound_says_so(tmp_path: Path) -> None:
    path = encode(tmp_path / "silent-film.mp4", None, video="libx264")
    with pytest.raises(AudioError, match="video without a sound track") as caught:
        decode(path)
    _one_line_with_path(caught.value, path)


# ---------------------------------------------------------------- silence, channels, rates


def test_silent_file_is_refused(tmp_path: Path) -> None:
    dither = np.random.default_rng(3).standard_normal(5 * SAMPLE_RATE).astype(np.float32) * 2e-5
    path = encode(tmp_path / "muted.wav", dither)
    with pytest.raises(AudioError, match="is silent") as caught:
        decode(path)
    _one_line_with_path(caught.value, path)
    assert caught.value.exit_code == 5


def test_stereo_speech_in_one_channel_is_kept_at_half_level(tmp_path: Path, speech: np.ndarray) -> None:
    left_only = np.stack([speech, np.zeros_like(speech)], axis=1)
    got = decode(encode(tmp_path / "left.wav", left_only))
    assert got.size == speech.size
    assert np.allclose(got, speech / 2, atol=2e-4)


def test_stereo_channels_in_opposite_polarity_do_not_cancel(tmp_path: Path, speech: np.ndarray) -> None:
    # A mic wired in reverse: the plain average of the two channels is silence.
    reversed_pair = np.stack([speech, -speech], axis=1)
    got = decode(encode(tmp_path / "reversed.wav", reversed_pair))
    assert np.corrcoef(got, speech)[0, 1] > 0.99
    assert 0.9 < np.std(got) / np.std(speech) < 1.1


def test_telephone_audio_is_resampled(tmp_path: Path, speech: np.ndarray) -> None:
    path = encode(tmp_path / "phone.wav", resample(speech, 8000), 8000, "pcm_mulaw")
    got = decode(path)
    assert abs(got.size - speech.size) <= 16
    assert abs(lag_ms(speech, got, at=5.0)) <= 2
    assert np.corrcoef(got, speech)[0, 1] > 0.8  # what survives of speech under 4 kHz


# ---------------------------------------------------------------- length limit and memory


def test_audio_over_the_limit_is_refused_before_decoding(
    tmp_path: Path, speech: np.ndarray, monkeypatch
) -> None:
    monkeypatch.setattr(audio.decoder, "MAX_SECONDS", 5)
    with pytest.raises(AudioError, match="split it into parts") as declared:
        decode(encode(tmp_path / "long.flac", speech, codec="flac"))  # the header gives the length
    with pytest.raises(AudioError, match="lasts over") as streamed:
        decode(encode(tmp_path / "long.ogg", resample(speech, 48_000), 48_000, "libopus"))
    assert "hours" in declared.value.problem and "\n" not in streamed.value.message


_PEAK_RSS = textwrap.dedent(
    """
    import resource, sys, time
    import av, numpy
    from pipeline.audio import decode
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    samples = decode(sys.argv[1])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(samples.size, samples.nbytes, before * 1024, peak * 1024, seconds)
    """
)


@pytest.mark.slow
def test_five_hour_file_decodes_in_little_more_memory_than_its_samples(tmp_path: Path) -> None:
    import av

    path, hours, rate = tmp_path / "five-hours.flac", 5, 8000
    # Telephone-rate near-silence with a tone burst every minute: cheap to
    # encode, resampled on the way in, and not refused as silent.
    minute = np.zeros((1, 60 * rate), dtype=np.int16)
    minute[0, :rate] = np.sin(np.arange(rate) * 2 * np.pi * 440 / rate) * 3000
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        for k in range(hours * 60):
            frame = av.AudioFrame.from_ndarray(minute, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, k * minute.shape[1]
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    size, nbytes, before, peak, seconds = done.stdout.split()
    print(
        f"5 h decode: {int(nbytes) / 2**20:.0f} MiB of samples, peak RSS {int(peak) / 2**20:.0f} MiB "
        f"(baseline {int(before) / 2**20:.0f} MiB), {float(seconds):.1f} s"
    )

    assert abs(int(size) - hours * 3600 * SAMPLE_RATE) <= 64
    # Collecting in chunks and joining them used to peak at 2.5 times the samples (2.9 GB).
    assert int(peak) - int(before) < 1.15 * int(nbytes)
