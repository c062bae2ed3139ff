"""Transcription with faster-whisper: timed words, streamed as they are decoded.

The model is loaded once into an :class:`Engine` that the aligner reuses for
Whisper's cross-attention alignment, so no stage loads it twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import model as model_files
from pipeline.audio import SAMPLE_RATE
from pipeline.errors import ModelError
from pipeline.types import Word


@dataclass(frozen=True)
class Engine:
    """A loaded Whisper model and the settings it runs with."""

    whisper: Any  # faster_whisper.WhisperModel
    name: str
    device: str
    compute_type: str
    batch_size: int
    language: str


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def load(
    name_or_path: str | None = None,
    device: str = "auto",
    compute_type: str | None = None,
    batch_size: int | None = None,
    language: str = "ru",
) -> Engine:
    """Load the model: int8 on CPU with one thread per core, float16 on GPU."""
    from faster_whisper import WhisperModel

    resolved = model_files.resolve(name_or_path)
    chosen = pick_device(device)
    compute = compute_type or ("float16" if chosen == "cuda" else "int8")
    try:
        whisper = WhisperModel(resolved, device=chosen, compute_type=compute, cpu_threads=os.cpu_count() or 1)
    except Exception as exc:  # CTranslate2 and huggingface_hub raise many kinds
        hint = model_files.REBUILD_HINT if name_or_path is None else "check --model"
        raise ModelError(resolved, f"cannot load the Whisper model ({str(exc)[:120]}); {hint}") from exc
    batch = batch_size or (16 if chosen == "cuda" else 8)
    return Engine(
        whisper,
        name=name_or_path or "whisper-base",
        device=chosen,
        compute_type=compute,
        batch_size=batch,
        language=language,
    )


def transcribe(
    engine: Engine, samples: np.ndarray, progress: Callable[[float], None] | None = None
) -> Iterator[Word]:
    """Yield the ASR's words with times, in order, from batched VAD-cut windows.

    ``progress`` is called with the audio time (seconds) reached so far.
    """
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(engine.whisper)
    segments, _info = pipeline.transcribe(
        samples,
        language=engine.language,
        batch_size=engine.batch_size,
        word_timestamps=True,
        vad_filter=True,
        beam_size=5,
    )
    for segment in segments:
        for word in segment.words or ():
            text = word.word.strip()
            if text:
                yield Word(
                    text=text,
                    start=float(word.start),
                    end=float(word.end),
                    probability=float(word.probability),
                )
        if progress:
            progress(min(float(segment.end), samples.size / SAMPLE_RATE))
