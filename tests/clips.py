"""Short real clips cut from the committed sample, with their true line times."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.transcript import compose
from pipeline.types import Line


def write_wav(path: Path, samples: np.ndarray) -> Path:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return path


def cut_clip(
    samples: np.ndarray, truth: dict, first: int, count: int, folder: Path
) -> tuple[Path, Path, list[dict]]:
    """Audio and transcript for ``count`` spoken truth lines from ``first``; times shifted to the clip."""
    spoken = [line for line in truth["lines"] if line["spoken"] and line["ru"]][first : first + count]
    begin = max(0.0, spoken[0]["start"] - 0.4)
    end = spoken[-1]["end"] + 0.4
    clip = samples[int(begin * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    audio = write_wav(folder / "clip.wav", clip)
    lines = [Line(k, line["ru"], line["en"]) for k, line in enumerate(spoken)]
    transcript = folder / "clip.ru-en.txt"
    transcript.write_text(compose(lines), encoding="utf-8")
    shifted = [{**line, "start": line["start"] - begin, "end": line["end"] - begin} for line in spoken]
    return audio, transcript, shifted
