"""The two faster-whisper baselines of ``make bench``, run as their own processes.

``python -m pipeline.bench.fw_runs sequential|batched AUDIO``: faster-whisper's
defaults (beam 5), Russian, int8 on CPU, the bundled base model; the batched
run uses ``BatchedInferencePipeline`` with batch 8. Prints the word count.
"""

from __future__ import annotations

import os
import sys

from pipeline import audio, model


def main(argv: list[str]) -> int:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    mode, path = argv
    samples = audio.decode(path)
    whisper = WhisperModel(
        model.resolve(None), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1
    )
    if mode == "batched":
        segments, _ = BatchedInferencePipeline(whisper).transcribe(samples, language="ru", batch_size=8)
    else:
        segments, _ = whisper.transcribe(samples, language="ru")
    words = sum(len(s.text.split()) for s in segments)
    print(f"{mode}: {words} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
