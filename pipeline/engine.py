"""The loaded Whisper model and the settings it runs with; loaded once per process."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any

from pipeline import model as model_files
from pipeline.errors import ModelError


@dataclass(frozen=True)
class Engine:
    """A loaded Whisper model and the settings it runs with."""

    whisper: Any  # faster_whisper.WhisperModel
    name: str
    device: str
    compute_type: str
    batch_size: int
    language: str

    def describe(self) -> str:
        return f"{self.name} on {self.device}, {self.compute_type}, batch {self.batch_size}"


def _gpu_batch(per_window_mib: int = 400, fallback: int = 16) -> int:
    """Windows per batch from the GPU's free memory (each 30 s window needs a few hundred MiB)."""
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        free = int(done.stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return fallback
    return max(8, min(64, free // per_window_mib))


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
    # CPU: each window in a decoding batch holds ~37 MB of cross-attention keys and
    # values, and batching buys little here (batch 2 took ~8% more CPU than 4,
    # 8 no less than 4), so memory decides.
    batch = batch_size or (_gpu_batch() if chosen == "cuda" else 2)
    return Engine(
        whisper,
        name=name_or_path or "whisper-base",
        device=chosen,
        compute_type=compute,
        batch_size=batch,
        language=language,
    )
