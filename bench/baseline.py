"""The baseline aligner: faster-whisper's own word timestamps mapped onto the reference.

A line takes the times of its first and last reference words that the text
matching pairs with ASR words; a line with no matched word counts as unspoken.
Run as ``python -m bench.baseline AUDIO TRANSCRIPT OUT.json``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline import audio, transcript
from pipeline.align.matching import match_tokens
from pipeline.normalize import normalize_word
from pipeline.types import Line, Word
from pipeline.whisper import model


def map_words(lines: Sequence[Line], asr_words: Sequence[Word]) -> list[dict]:
    ref = [(i, t) for i, line in enumerate(lines) for w in line.ru.split() for t in normalize_word(w)]
    hyp = [(j, t) for j, word in enumerate(asr_words) for t in normalize_word(word.text)]
    times: dict[int, list[Word]] = {}
    for i, j, _ in match_tokens([t for _, t in ref], [t for _, t in hyp]):
        times.setdefault(ref[i][0], []).append(asr_words[hyp[j][0]])
    out = []
    for i, line in enumerate(lines):
        hits = times.get(i)
        status = "no_text" if not line.ru else ("aligned" if hits else "unspoken")
        out.append(
            {
                "index": i,
                "ru": line.ru,
                "en": line.en,
                "status": status,
                "start": hits[0].start if hits else None,
                "end": hits[-1].end if hits else None,
            }
        )
    return out


def main(argv: list[str]) -> int:
    from faster_whisper import WhisperModel

    audio_path, transcript_path, out_path = map(Path, argv)
    lines = transcript.read(transcript_path)
    samples = audio.decode(audio_path)
    whisper = WhisperModel(model.resolve(None), device="cpu", compute_type="int8")
    segments, _ = whisper.transcribe(samples, language="ru", word_timestamps=True, vad_filter=True)
    words = [
        Word(w.word.strip(), w.start, w.end) for s in segments for w in (s.words or ()) if w.word.strip()
    ]
    result = {
        "audio": audio_path.name,
        "duration": audio.duration(samples),
        "lines": map_words(lines, words),
        "unscripted": [],
    }
    out_path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
