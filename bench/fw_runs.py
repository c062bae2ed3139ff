"""The two faster-whisper baselines of ``make bench``, run as their own processes.

``python -m bench.fw_runs sequential|batched AUDIO``: faster-whisper's
defaults (beam 5), Russian, the bundled base model, on the device subpipe's
``--device auto`` would pick. On the CPU: int8, all cores, and
``BatchedInferencePipeline`` with batch 8. On a GPU: float16 and batch 16, the
setting of faster-whisper's own GPU benchmark. Prints the word count.
"""

from __future__ import annotations

import os
import sys

from pipeline import audio
from pipeline.whisper import model
from pipeline.whisper.engine import pick_device

CPU_BATCH = 8
GPU_BATCH = 16


def settings() -> tuple[str, str, int]:
    """Device, compute type and batch size of the baselines on this machine."""
    device = pick_device("auto")
    return (device, "float16", GPU_BATCH) if device == "cuda" else (device, "int8", CPU_BATCH)


def main(argv: list[str]) -> int:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    mode, path = argv
    device, compute_type, batch_size = settings()
    samples = audio.decode(path)
    whisper = WhisperModel(
        model.resolve(None), device=device, compute_type=compute_type, cpu_threads=os.cpu_count() or 1
    )
    if mode == "batched":
        pipeline = BatchedInferencePipeline(whisper)
        segments, _ = pipeline.transcribe(samples, language="ru", batch_size=batch_size)
    else:
        segments, _ = whisper.transcribe(samples, language="ru")
    words = sum(len(s.text.split()) for s in segments)
    print(f"{mode}: {words} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
