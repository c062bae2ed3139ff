"""Synthetic episodes from a plan: the audio, its exact truth, and the files on disk.

A plan is a sequence of transcript lines (spoken or not), unscripted speech
and silences; :func:`build_episode` lays it out with Festival's audio and
records when every line and word is heard, and :func:`write_episode` writes
the audio, the bilingual transcript and the truth JSON.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import numpy as np

from bench.festival import SAMPLE_RATE, LineAudio, synthesize_many
from bench.seed_text import format_bilingual, reference_words
from pipeline.fileio import atomic_write_text


@dataclass(frozen=True, slots=True)
class SpokenLine:
    """A transcript line that is heard. ``said`` is what the speaker actually
    says when it differs from ``ru`` (a changed word, or the Russian phrase
    spoken for an English-only line)."""

    index: int
    ru: str
    en: str
    said: str | None = None


@dataclass(frozen=True, slots=True)
class UnspokenLine:
    """A transcript line that is never heard."""

    index: int
    ru: str
    en: str


@dataclass(frozen=True, slots=True)
class Unscripted:
    """Russian speech that is not in the transcript."""

    text: str


@dataclass(frozen=True, slots=True)
class Silence:
    seconds: float


PlanItem: TypeAlias = SpokenLine | UnspokenLine | Unscripted | Silence
Synth: TypeAlias = Callable[[Sequence[str]], Sequence[LineAudio]]


def _r(x: float) -> float:
    return round(float(x), 3)


def _changed_words(said: str, written: str) -> list[tuple[int, str, str]]:
    """(position in written words, spoken, written) for words replaced one for one."""
    a, b = reference_words(said), reference_words(written)
    out: list[tuple[int, str, str]] = []
    matcher = difflib.SequenceMatcher(None, [w.lower() for w in a], [w.lower() for w in b], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "replace" and a1 - a0 == b1 - b0:
            out.extend((b0 + k, a[a0 + k], b[b0 + k]) for k in range(a1 - a0))
    return out


def _words_for_written(audio: LineAudio, written: str, offset: float) -> list[dict[str, Any]]:
    """Truth words of the written line, timed from what was actually said.

    Words the speaker said as written, or replaced one for one, take the time
    of the spoken word; written words with no spoken counterpart get None.
    """
    spoken = list(audio.words)
    written_words = reference_words(written)
    times: list[tuple[float | None, float | None, str]] = [(None, None, "")] * len(written_words)
    matcher = difflib.SequenceMatcher(
        None, [w.text.lower() for w in spoken], [w.lower() for w in written_words], autojunk=False
    )
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and a1 - a0 == b1 - b0):
            for k in range(a1 - a0):
                w = spoken[a0 + k]
                times[b0 + k] = (w.start, w.end, w.said)
    lo, hi = _r(offset), _r(offset + audio.duration)

    def clamp(t: float) -> float:
        # Rounded separately, a word could poke a millisecond out of its line.
        return min(max(_r(t), lo), hi)

    words: list[dict[str, Any]] = []
    for text, (start, end, said) in zip(written_words, times, strict=True):
        entry: dict[str, Any] = {
            "text": text,
            "start": None if start is None else clamp(offset + start),
            "end": None if end is None else clamp(offset + end),
        }
        if said and said.lower() != text.lower():
            entry["said"] = said
        words.append(entry)
    return words


def build_episode(
    items: Sequence[PlanItem],
    seed: int,
    noise_snr_db: float | None = None,
    audio_name: str = "episode.flac",
    synth: Synth | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Lay out a plan as one episode; return its samples and its truth.

    The plan's transcript lines (spoken or not) must carry indices 0..n-1 in
    order: the truth has one entry per transcript line. A pause of 0.25-1.0 s
    separates consecutive speech unless a ``Silence`` stands between them.
    Noise, if asked for, is white at ``noise_snr_db`` below the mean power of
    the speech (silences excluded), so pauses are noisy too.
    """
    line_items = [it for it in items if isinstance(it, SpokenLine | UnspokenLine)]
    if [it.index for it in line_items] != list(range(len(line_items))):
        raise ValueError("plan lines must have indices 0..n-1 in transcript order")
    texts: list[str] = []
    for it in items:
        if isinstance(it, SpokenLine):
            spoken_text = it.said if it.said is not None else it.ru
            if not reference_words(spoken_text):
                raise ValueError(f"line {it.index} is spoken but has no Russian to say")
            texts.append(spoken_text)
        elif isinstance(it, Unscripted):
            texts.append(it.text)
    synthesized = iter((synth or synthesize_many)(texts))

    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    speech_spans: list[tuple[int, int]] = []
    cursor = 0  # samples so far

    def add(samples: np.ndarray) -> int:
        nonlocal cursor
        start = cursor
        pieces.append(samples.astype(np.float32, copy=False))
        cursor += len(samples)
        return start

    def add_silence(seconds: float) -> None:
        add(np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32))

    add_silence(rng.uniform(0.5, 1.0))
    lines_truth: list[dict[str, Any]] = []
    unscripted: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    need_pause = False
    for it in items:
        if isinstance(it, Silence):
            add_silence(it.seconds)
            need_pause = False
            continue
        if isinstance(it, UnspokenLine):
            lines_truth.append(
                {
                    "index": it.index,
                    "ru": it.ru,
                    "en": it.en,
                    "spoken": False,
                    "start": None,
                    "end": None,
                    "words": [],
                }
            )
            continue
        audio = next(synthesized)
        if need_pause:
            add_silence(rng.uniform(0.25, 1.0))
        first = add(audio.samples)
        speech_spans.append((first, cursor))
        need_pause = True
        # The same expression as in _words_for_written, so rounding agrees.
        start = first / SAMPLE_RATE
        end = start + audio.duration
        if isinstance(it, Unscripted):
            unscripted.append({"start": _r(start), "end": _r(end), "text": it.text})
            continue
        entry: dict[str, Any] = {
            "index": it.index,
            "ru": it.ru,
            "en": it.en,
            "spoken": True,
            "start": _r(start),
            "end": _r(end),
        }
        if it.ru:
            entry["words"] = _words_for_written(audio, it.ru, start)
            entry["words_complete"] = all(w["start"] is not None for w in entry["words"])
            if it.said is not None and it.said != it.ru:
                entry["said_ru"] = it.said
                for pos, spoken_w, written_w in _changed_words(it.said, it.ru):
                    changed.append(
                        {"line": it.index, "position": pos, "spoken": spoken_w, "written": written_w}
                    )
        else:
            # English-only line: the Russian heard is absent from the transcript.
            entry["words"] = []
            entry["said_ru"] = audio.text
            unscripted.append({"start": _r(start), "end": _r(end), "text": audio.text, "line": it.index})
        lines_truth.append(entry)
    add_silence(rng.uniform(0.5, 1.0))

    signal = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    truth_noise: float | None = None
    if noise_snr_db is not None and speech_spans:
        speech_power = float(
            np.mean(np.concatenate([signal[a:b] for a, b in speech_spans]).astype(np.float64) ** 2)
        )
        noise_rms = np.sqrt(speech_power / 10 ** (noise_snr_db / 10))
        # A separate stream, so adding noise leaves the pauses (and truth) unchanged.
        noise = np.random.default_rng([seed, 1]).normal(0.0, noise_rms, len(signal))
        signal = (signal + noise).astype(np.float32)
        truth_noise = float(noise_snr_db)
    peak = float(np.max(np.abs(signal))) if len(signal) else 0.0
    if peak > 0.98:
        signal = (signal * (0.98 / peak)).astype(np.float32)

    truth: dict[str, Any] = {
        "audio": audio_name,
        "duration": _r(len(signal) / SAMPLE_RATE),
        "sample_rate": SAMPLE_RATE,
        "seed": seed,
        "noise_snr_db": truth_noise,
        "lines": lines_truth,
        "unscripted": unscripted,
        "changed_words": changed,
    }
    return signal, truth


# ---------------------------------------------------------------- output


_ENCODINGS = {
    ".ogg": ("ogg", "libopus"),
    ".opus": ("ogg", "libopus"),
    ".mp3": ("mp3", "libmp3lame"),
    ".flac": ("flac", "flac"),
    ".wav": ("wav", "pcm_s16le"),
}


def encode_audio(samples: np.ndarray, path: Path, bitrate: int = 32000) -> None:
    """Write mono 16 kHz audio; the container and codec follow the suffix
    (.ogg is Opus at ``bitrate``). Written to a temp file, then renamed."""
    import av  # imported here so that reading truth does not need PyAV

    path = Path(path)
    try:
        container, codec = _ENCODINGS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot encode {path.suffix!r}; use one of {sorted(_ENCODINGS)}") from None
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # bitexact: otherwise the Ogg serial number is random and every rebuild differs.
        with av.open(tmp_name, "w", format=container, options={"fflags": "+bitexact"}) as out:
            stream = out.add_stream(codec, rate=SAMPLE_RATE)
            stream.layout = "mono"
            if codec in ("libopus", "libmp3lame"):
                stream.bit_rate = bitrate
            # One big frame is fine: PyAV re-chunks to the codec's frame size.
            step = SAMPLE_RATE * 60
            for i in range(0, max(len(pcm), 1), step):
                frame = av.AudioFrame.from_ndarray(pcm[None, i : i + step], format="s16", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class EpisodeFiles(NamedTuple):
    audio: Path
    transcript: Path
    truth: Path


def write_episode(
    items: Sequence[PlanItem],
    outdir: Path,
    stem: str,
    seed: int,
    audio_suffix: str = ".flac",
    noise_snr_db: float | None = None,
    synth: Synth | None = None,
) -> EpisodeFiles:
    """Build the episode and write ``<stem><suffix>``, ``<stem>.ru-en.txt`` and ``<stem>.truth.json``."""
    outdir = Path(outdir)
    audio_path = outdir / f"{stem}{audio_suffix}"
    samples, truth = build_episode(items, seed, noise_snr_db, audio_name=audio_path.name, synth=synth)
    lines = [(it.ru, it.en) for it in items if isinstance(it, SpokenLine | UnspokenLine)]
    transcript_path = outdir / f"{stem}.ru-en.txt"
    truth_path = outdir / f"{stem}.truth.json"
    encode_audio(samples, audio_path)
    atomic_write_text(transcript_path, format_bilingual(lines))
    atomic_write_text(truth_path, json.dumps(truth, ensure_ascii=False, indent=1) + "\n")
    files = EpisodeFiles(audio_path, transcript_path, truth_path)
    for path in files:
        path.chmod(0o644)  # temp files are created private; these are meant to be shared
    return files
