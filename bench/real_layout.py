"""Real recordings laid out as an episode, with the truth of every line and word.

A plan is the transcript (lines, each tied to the recording it was written
from, its text possibly edited) and the order in which recordings are heard:
a heard recording is a transcript line, or unscripted speech when it has no
line; a line never heard is unspoken. Each recording keeps its own breath and
silence around the speech; the pause between two recordings is drawn from a
seeded distribution of read-speech pauses, made by cutting into those
silences or by adding room tone taken from the recordings' own quiet tails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.episode_builder import EpisodeFiles, _changed_words, _r, _words_for_written, encode_audio
from bench.festival import SAMPLE_RATE, LineAudio, TimedWord
from bench.festvox_ru import (
    VOICE_DIR,
    Utterance,
    prefetch_words,
    read_wav,
    speech_span,
    text_of,
    utterance,
    utterance_ids,
)
from pipeline.fileio import atomic_write_text

# Pauses between sentences of read speech: median 0.75 s, most within 0.45-1.6 s,
# now and then a long one (a paragraph, a page turned).
PAUSE_MEDIAN = 0.75
PAUSE_SIGMA = 0.45
PAUSE_RANGE = (0.3, 2.5)
LONG_PAUSE_SHARE = 0.07
LONG_PAUSE = (2.5, 5.0)
# Never cut closer than this to the speech: the decay after it, the breath before it.
KEEP_AFTER = 0.15
KEEP_BEFORE = 0.3
FADE = 0.0025
ROOM_TONE_AFTER = 0.2  # a recording's tail this long after its last phone is room tone


@dataclass(frozen=True, slots=True)
class ScriptLine:
    """A transcript line: the recording it stands for, and what it says if edited."""

    index: int
    utt: str
    written: str | None = None  # None: the recording's own text
    change: dict[str, Any] | None = None  # what was edited, for the truth

    def text(self) -> str:
        return self.written if self.written is not None else text_of(self.utt)


@dataclass(frozen=True, slots=True)
class Heard:
    """A recording heard in the episode: transcript line ``line``, or unscripted when None."""

    utt: str
    line: int | None


@dataclass(frozen=True, slots=True)
class Plan:
    lines: tuple[ScriptLine, ...]
    heard: tuple[Heard, ...]
    extra_pause: dict[int, float] = field(default_factory=dict)  # heard index -> pause before it (s)


@dataclass(frozen=True, slots=True)
class Placed:
    utt: Utterance
    offset: float  # episode time of the recording's sample 0 (negative when its lead was cut)
    keep: tuple[int, int]  # the recording's samples that were kept


def check(plan: Plan) -> None:
    if [ln.index for ln in plan.lines] != list(range(len(plan.lines))):
        raise ValueError("plan lines must be numbered 0..n-1")
    order = [h.line for h in plan.heard if h.line is not None]
    if order != sorted(order) or len(order) != len(set(order)):
        raise ValueError("heard lines must follow the transcript, each at most once")
    for h in plan.heard:
        if h.line is not None and plan.lines[h.line].utt != h.utt:
            raise ValueError(f"line {h.line} is heard as {h.utt}, not its own recording")


def draw_pause(rng: np.random.Generator) -> float:
    if rng.random() < LONG_PAUSE_SHARE:
        return float(rng.uniform(*LONG_PAUSE))
    return float(np.clip(PAUSE_MEDIAN * np.exp(rng.normal(0.0, PAUSE_SIGMA)), *PAUSE_RANGE))


@cache
def room_tone_pool() -> np.ndarray:
    """Quiet tails of every usable recording, end to end: the room the reader sat in."""
    pieces = []
    for utt_id in utterance_ids():
        samples = read_wav(VOICE_DIR / "wav" / f"{utt_id}.wav")
        tail = samples[round((speech_span(utt_id)[1] + ROOM_TONE_AFTER) * SAMPLE_RATE) :]
        if len(tail) > 0.1 * SAMPLE_RATE:
            pieces.append(_faded(tail))
    return np.concatenate(pieces)


def _faded(samples: np.ndarray) -> np.ndarray:
    n = min(round(FADE * SAMPLE_RATE), len(samples) // 2)
    if n == 0:
        return samples.astype(np.float32)
    out = samples.astype(np.float32).copy()
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def _room_tone(pool: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    n = round(seconds * SAMPLE_RATE)
    if n <= 0:
        return np.zeros(0, np.float32)
    if n >= len(pool):
        return _faded(np.resize(pool, n))
    start = int(rng.integers(0, len(pool) - n))
    return _faded(pool[start : start + n])


def lay_out(plan: Plan, seed: int) -> tuple[np.ndarray, list[Placed]]:
    """The episode's samples and where each heard recording went."""
    check(plan)
    prefetch_words([h.utt for h in plan.heard] + [ln.utt for ln in plan.lines])
    rng = np.random.default_rng(seed)
    pool = room_tone_pool()
    utts = [utterance(h.utt) for h in plan.heard]
    # Cuts first: how much of each recording's lead and tail stays.
    keep_from = [0.0] * len(utts)
    keep_to = [u.seconds for u in utts]
    fills = [0.0] * (len(utts) + 1)
    fills[0] = float(rng.uniform(0.3, 1.5))
    fills[-1] = float(rng.uniform(0.5, 1.0))
    for k in range(1, len(utts)):
        prev, nxt = utts[k - 1], utts[k]
        want = plan.extra_pause.get(k, draw_pause(rng))
        trail = keep_to[k - 1] - prev.speech_end
        lead = nxt.speech_start
        natural = trail + lead
        if want >= natural:
            fills[k] = want - natural
            continue
        # Cut the longer silence first, never past the margins.
        excess = natural - want
        cut_trail = min(max(trail - KEEP_AFTER, 0.0), excess * trail / natural)
        cut_lead = min(max(lead - KEEP_BEFORE, 0.0), excess - cut_trail)
        cut_trail = min(max(trail - KEEP_AFTER, 0.0), excess - cut_lead)
        keep_to[k - 1] -= cut_trail
        keep_from[k] += cut_lead
    pieces: list[np.ndarray] = []
    placed: list[Placed] = []
    cursor = 0
    for k, u in enumerate(utts):
        gap = _room_tone(pool, fills[k], rng)
        pieces.append(gap)
        cursor += len(gap)
        a, b = round(keep_from[k] * SAMPLE_RATE), round(keep_to[k] * SAMPLE_RATE)
        pieces.append(_faded(u.samples()[a:b]))
        placed.append(Placed(u, (cursor - a) / SAMPLE_RATE, (a, b)))
        cursor += b - a
    pieces.append(_room_tone(pool, fills[-1], rng))
    return np.concatenate(pieces).astype(np.float32), placed


def speech_spans(placed: Sequence[Placed]) -> list[tuple[int, int]]:
    """Sample spans of speech (first to last phone) in the episode."""
    return [
        (
            round((p.offset + p.utt.speech_start) * SAMPLE_RATE),
            round((p.offset + p.utt.speech_end) * SAMPLE_RATE),
        )
        for p in placed
    ]


def _as_line_audio(p: Placed, samples: np.ndarray) -> tuple[LineAudio, float]:
    """The kept piece as the synthetic builder's LineAudio, and its episode offset."""
    shift = p.keep[0] / SAMPLE_RATE
    words = tuple(
        TimedWord(
            w.text,
            None if w.start is None else w.start - shift,
            None if w.end is None else w.end - shift,
            w.said,
        )
        for w in p.utt.words
    )
    return LineAudio(p.utt.text, samples[p.keep[0] : p.keep[1]], words, False), p.offset + shift


def truth(plan: Plan, placed: Sequence[Placed], duration: float, seed: int) -> dict[str, Any]:
    """The truth file's content, in the shape of the synthetic episodes' (``bench.metrics``)."""
    by_line = {h.line: p for h, p in zip(plan.heard, placed, strict=True) if h.line is not None}
    lines: list[dict[str, Any]] = []
    changed_words: list[dict[str, Any]] = []
    changed_lines: list[dict[str, Any]] = []
    for ln in plan.lines:
        written = ln.text()
        p = by_line.get(ln.index)
        if p is None:
            lines.append(
                {
                    "index": ln.index,
                    "ru": written,
                    "en": "",
                    "spoken": False,
                    "start": None,
                    "end": None,
                    "words": [],
                    "recording": ln.utt,
                }
            )
            continue
        audio, offset = _as_line_audio(p, p.utt.samples())
        entry: dict[str, Any] = {
            "index": ln.index,
            "ru": written,
            "en": "",
            "spoken": True,
            "start": _r(p.offset + p.utt.speech_start),
            "end": _r(p.offset + p.utt.speech_end),
            "words": _words_for_written(audio, written, offset),
            "recording": ln.utt,
        }
        entry["words_complete"] = all(w["start"] is not None for w in entry["words"])
        if written != p.utt.text:
            entry["said_ru"] = p.utt.text
            changed_lines.append(
                {"line": ln.index, **(ln.change or {}), "written": written, "said": p.utt.text}
            )
            for pos, spoken_w, written_w in _changed_words(p.utt.text, written):
                changed_words.append(
                    {"line": ln.index, "position": pos, "spoken": spoken_w, "written": written_w}
                )
        lines.append(entry)
    unscripted = [
        {
            "start": _r(p.offset + p.utt.speech_start),
            "end": _r(p.offset + p.utt.speech_end),
            "text": p.utt.text,
            "recording": p.utt.id,
        }
        for h, p in zip(plan.heard, placed, strict=True)
        if h.line is None
    ]
    return {
        "audio": "",
        "duration": _r(duration),
        "sample_rate": SAMPLE_RATE,
        "seed": seed,
        "source": "festvox-ru msu_ru_nsh recordings (real speech, one reader)",
        "noise_snr_db": None,
        "lines": lines,
        "unscripted": unscripted,
        "changed_words": changed_words,
        "changed_lines": changed_lines,
    }


def write(stem_dir: Path, samples: np.ndarray, plan: Plan, content: dict[str, Any]) -> EpisodeFiles:
    """``episode.flac``, ``episode.txt`` (plain: one line a row) and ``episode.truth.json``."""
    stem_dir.mkdir(parents=True, exist_ok=True)
    audio = stem_dir / "episode.flac"
    transcript = stem_dir / "episode.txt"
    truth_path = stem_dir / "episode.truth.json"
    encode_audio(samples, audio)
    atomic_write_text(transcript, "".join(f"{ln.text()}\n" for ln in plan.lines))
    content = {**content, "audio": audio.name}
    # The truth goes last: its presence says the episode is whole.
    atomic_write_text(truth_path, json.dumps(content, ensure_ascii=False, indent=1) + "\n")
    files = EpisodeFiles(audio, transcript, truth_path)
    for path in files:
        path.chmod(0o644)
    return files
