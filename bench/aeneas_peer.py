"""The peer aligner: aeneas (the ``aeneas-ng`` sdist), run in its own venv (``make aeneas``).

aeneas synthesizes the transcript with eSpeak (its default engine, through
its C extension built on libespeak-ng; Russian voice), aligns the synthetic
and the real audio's MFCCs by DTW, and puts the boundary between two lines
inside the non-speech its energy VAD finds there.
It times every line: it has no notion of a line that is not in the audio.

Configuration (:data:`CONFIG`), chosen from aeneas's documentation:

* ``task_adjust_boundary_nonspeech_min=0.200`` and ``..._string=REMOVE``:
  every non-speech stretch of 0.2 s or more (its VAD's own minimum) that a
  boundary falls in becomes a gap between the lines, so a line starts where
  the speech after the pause starts rather than somewhere inside the pause;
* ``task_adjust_boundary_algorithm=percent`` at 50: a boundary in a shorter
  pause goes to its middle (the documented default example);
* no head/tail detection: ``is_audio_file_detect_head_max`` makes aeneas's
  eSpeak C extension (``cew``, called with ``quit_after``) hang without end
  on this build (measured: no CPU for 15 min on a 5-min episode, also on a
  2-line clip), and the ``espeak-ng`` subprocess engine that would avoid
  ``cew`` times every line about 40 s off here. So the first line begins at
  0.0, one start in each episode given to the peer's leading silence.

Measured on real-clean / real-phone (share of starts within 125 ms): without
the non-speech adjustment 80.6 % / 71.0 %; as configured 93.5 % / 83.9 %;
with ``mfcc_mask_nonspeech=True`` 90.3 % / 77.4 %; with 0.5 s as the
non-speech minimum 80.6 % / 74.2 %.

eSpeak-ng rather than Festival: Festival's Russian voice is made of the very
recordings the real-speech episodes use, which would hand the peer a template
of the same reader. Run as ``python -m bench.aeneas_peer AUDIO TRANSCRIPT OUT.json``
(the output has ``align.json``'s shape, so :func:`bench.metrics.score` reads it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import transcript
from pipeline.types import Line

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV = REPO_ROOT / ".venv-aeneas"
PYTHON = VENV / "bin" / "python"
CONFIG = "|".join(
    [
        "task_language=rus",
        "is_text_type=plain",
        "os_task_file_format=json",
        "task_adjust_boundary_nonspeech_min=0.200",
        "task_adjust_boundary_nonspeech_string=REMOVE",
        "task_adjust_boundary_algorithm=percent",
        "task_adjust_boundary_percent_value=50",
    ]
)


class AeneasError(RuntimeError):
    pass


def available() -> bool:
    return PYTHON.exists()


def plain_text(lines: Sequence[Line]) -> tuple[str, list[int]]:
    """aeneas's plain text (one fragment a row) and the transcript index of each row."""
    rows = [(ln.index, " ".join(ln.ru.split())) for ln in lines if ln.ru.strip()]
    return "".join(f"{text}\n" for _, text in rows), [i for i, _ in rows]


def parse_syncmap(data: dict[str, Any], lines: Sequence[Line], rows: Sequence[int]) -> list[dict[str, Any]]:
    """``align.json``-shaped lines from aeneas's JSON sync map.

    Fragments are tied to rows by their ids (``f000001`` is the first row),
    not by their order, so a fragment aeneas dropped leaves its line untimed
    (``unspoken``) instead of shifting every line after it.
    """
    timed: dict[int, tuple[float, float]] = {}
    for fragment in data.get("fragments", []):
        ident = str(fragment.get("id", ""))
        if not (ident.startswith("f") and ident[1:].isdigit()):
            continue  # HEAD, TAIL or non-speech fragments, if a configuration shows them
        row = int(ident[1:]) - 1
        if 0 <= row < len(rows):
            timed[rows[row]] = (float(fragment["begin"]), float(fragment["end"]))
    out: list[dict[str, Any]] = []
    for ln in lines:
        if not ln.ru.strip():
            out.append(
                {"index": ln.index, "ru": ln.ru, "en": ln.en, "status": "no_text", "start": None, "end": None}
            )
            continue
        span = timed.get(ln.index)
        out.append(
            {
                "index": ln.index,
                "ru": ln.ru,
                "en": ln.en,
                "status": "aligned" if span else "unspoken",
                "start": span[0] if span else None,
                "end": span[1] if span else None,
            }
        )
    return out


def align(audio: Path, transcript_path: Path, config: str = CONFIG) -> dict[str, Any]:
    """Run aeneas on an audio file and a subpipe transcript; return an ``align.json``-shaped dict."""
    if not available():
        raise AeneasError(f"{PYTHON} not found: run `make aeneas`")
    lines = transcript.read(transcript_path)
    text, rows = plain_text(lines)
    with tempfile.TemporaryDirectory(prefix="subpipe-aeneas-") as tmp:
        text_path = Path(tmp) / "transcript.txt"
        text_path.write_text(text, encoding="utf-8")
        out = Path(tmp) / "syncmap.json"
        proc = subprocess.run(
            [str(PYTHON), "-m", "aeneas.tools.execute_task", str(audio), str(text_path), config, str(out)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env={**os.environ, "PYTHONIOENCODING": "UTF-8"},
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise AeneasError(f"aeneas failed on {audio} (exit {proc.returncode}): {tail}")
        data = json.loads(out.read_text(encoding="utf-8"))
    return {"audio": Path(audio).name, "lines": parse_syncmap(data, lines, rows), "unscripted": []}


def main(argv: Sequence[str]) -> int:
    audio, transcript_path, out_path = map(Path, argv)
    try:
        result = align(audio, transcript_path)
    except AeneasError as exc:
        print(exc, file=sys.stderr)
        return 1
    out_path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
