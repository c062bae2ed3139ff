"""Subtitle and alignment output: one module per format, all converting through ``Cue``.

Each format module offers ``EXTENSION``, ``compose(cues, languages)`` and
``parse(text, languages=None)``; :data:`FORMATS` maps extensions to them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pipeline.fileio import atomic_write_text
from pipeline.types import Alignment, Cue
from pipeline.writers import subrip, webvtt
from pipeline.writers.alignment_json import alignment_from_dict, alignment_to_dict
from pipeline.writers.subrip import compose_srt, parse_srt
from pipeline.writers.webvtt import compose_vtt, parse_vtt

__all__ = [
    "FORMATS",
    "alignment_from_dict",
    "alignment_to_dict",
    "compose_srt",
    "compose_vtt",
    "output_names",
    "parse_srt",
    "parse_vtt",
    "write_outputs",
]

FORMATS = {subrip.EXTENSION: subrip, webvtt.EXTENSION: webvtt}
_SUBTITLES = (
    ("ru-en.srt", compose_srt, ("ru", "en")),
    ("ru-en.vtt", compose_vtt, ("ru", "en")),
    ("ru.srt", compose_srt, ("ru",)),
    ("en.srt", compose_srt, ("en",)),
    ("ru.vtt", compose_vtt, ("ru",)),
    ("en.vtt", compose_vtt, ("en",)),
)


def output_names(stem: str) -> list[str]:
    """The files :func:`write_outputs` writes, in order."""
    return [f"{stem}.{suffix}" for suffix, _, _ in _SUBTITLES] + [f"{stem}.align.json"]


def write_outputs(out_dir: Path, stem: str, alignment: Alignment, cues: Sequence[Cue]) -> list[Path]:
    """Write the dual and single-language SRT and WebVTT files and the alignment JSON.

    Each file is replaced atomically, so an interrupted run leaves earlier outputs whole.
    """
    out_dir = Path(out_dir)
    written = []
    for suffix, compose, languages in _SUBTITLES:
        path = out_dir / f"{stem}.{suffix}"
        atomic_write_text(path, compose(cues, languages))
        written.append(path)
    path = out_dir / f"{stem}.align.json"
    atomic_write_text(path, json.dumps(alignment_to_dict(alignment), ensure_ascii=False, indent=2) + "\n")
    return [*written, path]
