"""Subtitle and alignment output: one module per format, all converting through ``Cue``.

Each format module composes from ``Cue``s (``compose_srt``, ``compose_vtt``,
``compose_karaoke``, ``compose_ass``); SRT and WebVTT also parse back into them
(``parse_srt``, ``parse_vtt``). :func:`read_subtitles` reads any real-world SRT
or WebVTT file; :func:`write_outputs` writes every file of a run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from pipeline.fileio import atomic_write_text
from pipeline.subtitles.formats._lenient import ReadWarning
from pipeline.subtitles.formats.alignment_json import alignment_from_dict, alignment_to_dict
from pipeline.subtitles.formats.ass import compose_ass
from pipeline.subtitles.formats.karaoke import compose_karaoke
from pipeline.subtitles.formats.reading import SubtitleFile, read_subtitles, repair_timing
from pipeline.subtitles.formats.subrip import compose_srt, parse_srt
from pipeline.subtitles.formats.webvtt import LAYOUTS, compose_vtt, parse_vtt
from pipeline.types import Alignment, Cue

__all__ = [
    "LAYOUTS",
    "ReadWarning",
    "SubtitleFile",
    "alignment_from_dict",
    "alignment_to_dict",
    "compose_ass",
    "compose_karaoke",
    "compose_srt",
    "compose_vtt",
    "output_names",
    "parse_srt",
    "parse_vtt",
    "read_subtitles",
    "repair_timing",
    "write_outputs",
]


def _subtitles(stem: str, vtt_layout: str) -> list[tuple[str, Callable[[Sequence[Cue]], str]]]:
    return [
        ("ru-en.srt", partial(compose_srt, languages=("ru", "en"))),
        ("ru-en.vtt", partial(compose_vtt, languages=("ru", "en"), layout=vtt_layout)),
        ("ru.srt", partial(compose_srt, languages=("ru",))),
        ("en.srt", partial(compose_srt, languages=("en",))),
        ("ru.vtt", partial(compose_vtt, languages=("ru",))),
        ("en.vtt", partial(compose_vtt, languages=("en",))),
        ("ru.karaoke.vtt", compose_karaoke),
        ("ru-en.ass", partial(compose_ass, title=stem)),
    ]


def output_names(stem: str) -> list[str]:
    """The files :func:`write_outputs` writes, in order."""
    return [f"{stem}.{suffix}" for suffix, _ in _subtitles(stem, "spans")] + [f"{stem}.align.json"]


def write_outputs(
    out_dir: Path, stem: str, alignment: Alignment, cues: Sequence[Cue], vtt_layout: str = "spans"
) -> list[Path]:
    """Write the dual, single-language and karaoke subtitles, the ASS script and the alignment JSON.

    ``vtt_layout`` ("spans" or "stacked") chooses how the dual WebVTT shows
    the two languages. Each file is replaced atomically, so an interrupted run
    leaves earlier outputs whole.
    """
    if vtt_layout not in LAYOUTS:
        raise ValueError(f"vtt_layout must be one of {LAYOUTS}, got {vtt_layout!r}")
    out_dir = Path(out_dir)
    written = []
    for suffix, compose in _subtitles(stem, vtt_layout):
        path = out_dir / f"{stem}.{suffix}"
        atomic_write_text(path, compose(cues))
        written.append(path)
    path = out_dir / f"{stem}.align.json"
    atomic_write_text(path, json.dumps(alignment_to_dict(alignment), ensure_ascii=False, indent=2) + "\n")
    return [*written, path]
