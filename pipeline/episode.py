"""One episode through every stage: the function the CLI and batch runs call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import asr, audio, transcript
from pipeline.align import align
from pipeline.attention import Attention
from pipeline.cues import build_cues
from pipeline.types import Alignment, Cue, LineStatus
from pipeline.writers import write_outputs

Progress = Callable[[str, float, float], None]  # stage, done, total (seconds of audio)


@dataclass(frozen=True)
class Settings:
    model: str | None = None
    device: str = "auto"
    compute_type: str | None = None
    batch_size: int | None = None
    language: str = "ru"


@dataclass
class Result:
    alignment: Alignment
    cues: list[Cue]
    outputs: list[Path]
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        counts = {status: 0 for status in LineStatus}
        for line in self.alignment.lines:
            counts[line.status] += 1
        wall = sum(self.stage_seconds.values())
        speed = self.alignment.duration / wall if wall else 0.0
        return (
            f"{len(self.alignment.lines)} lines: {counts[LineStatus.ALIGNED]} aligned, "
            f"{counts[LineStatus.UNSPOKEN]} unspoken, {counts[LineStatus.NO_TEXT]} without Russian; "
            f"{len(self.alignment.unscripted)} unscripted stretches; {len(self.cues)} cues; "
            f"{self.alignment.duration:.0f} s of audio in {wall:.1f} s ({speed:.1f}x real time)"
        )


def run(
    audio_path: Path,
    transcript_path: Path,
    out_dir: Path,
    settings: Settings = Settings(),
    engine: asr.Engine | None = None,
    progress: Progress | None = None,
) -> Result:
    """Parse, decode, transcribe, align, build cues and write every output file."""
    clock: dict[str, float] = {}

    def timed(stage: str, started: float) -> None:
        clock[stage] = clock.get(stage, 0.0) + time.perf_counter() - started

    t = time.perf_counter()
    lines = transcript.read(transcript_path)
    samples = audio.decode(audio_path)
    total = audio.duration(samples)
    timed("decode", t)

    t = time.perf_counter()
    if engine is None:
        engine = asr.load(
            settings.model, settings.device, settings.compute_type, settings.batch_size, settings.language
        )
    timed("load_model", t)

    t = time.perf_counter()
    report = (lambda done: progress("transcribe", done, total)) if progress else None
    words = list(asr.transcribe(engine, samples, progress=report))
    timed("transcribe", t)

    t = time.perf_counter()
    attention = Attention(engine)
    alignment = align(
        lines,
        samples,
        words,
        attention,
        attention.token_count,
        audio_name=audio_path.name,
        model_name=engine.name,
    )
    timed("align", t)

    t = time.perf_counter()
    cues = build_cues(alignment.lines)
    outputs = write_outputs(out_dir, audio_path.stem, alignment, cues)
    timed("write", t)
    return Result(alignment, cues, outputs, clock)
