"""subpipe: dual-language subtitles from an episode's audio and its bilingual transcript.

The Python API, for those who call subpipe from their own code::

    import pipeline

    result = pipeline.run_episode("episode.mp3", "episode.ru-en.txt", "out/")
    print(result.summary())

:func:`run_episode` runs every stage; :func:`read_transcript` and
:func:`read_subtitles` read inputs; the data types (times are seconds, as
``float``) and the errors (each with its ``exit_code``) are below. Heavy
modules (the model, numpy) load on first use, not on ``import pipeline``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.errors import (
    AlignmentError,
    AudioError,
    InputNotFound,
    ModelError,
    OutputError,
    SubpipeError,
    SubtitleError,
    TranscriptError,
)
from pipeline.types import AlignedLine, Alignment, Cue, Line, LineStatus, Span, Word

if TYPE_CHECKING:
    from pipeline.episode import Result, Settings
    from pipeline.episode import run as run_episode
    from pipeline.subtitles.formats import read_subtitles
    from pipeline.transcript import read as read_transcript

__all__ = [
    "AlignedLine",
    "Alignment",
    "AlignmentError",
    "AudioError",
    "Cue",
    "InputNotFound",
    "Line",
    "LineStatus",
    "ModelError",
    "OutputError",
    "Result",
    "Settings",
    "Span",
    "SubpipeError",
    "SubtitleError",
    "TranscriptError",
    "Word",
    "read_subtitles",
    "read_transcript",
    "run_episode",
]

# name -> (module, attribute): imported when first asked for
_LAZY = {
    "run_episode": ("pipeline.episode", "run"),
    "Settings": ("pipeline.episode", "Settings"),
    "Result": ("pipeline.episode", "Result"),
    "read_transcript": ("pipeline.transcript", "read"),
    "read_subtitles": ("pipeline.subtitles.formats", "read_subtitles"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    from importlib import import_module

    module, attribute = _LAZY[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value
