"""The data types that flow through the pipeline.

All times are seconds, as ``float``, measured from the start of the audio.
Every stage takes and returns these frozen types; none mutates its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class Line:
    """One transcript entry: a Russian line and its English translation.

    Either side may be empty ("") when the transcript lacks it, never both.
    ``source_line`` is the 1-based line number in the input file where the
    entry starts, kept so that reports can point back into the file.
    """

    index: int
    ru: str
    en: str
    source_line: int = 0


@dataclass(frozen=True, slots=True)
class Word:
    """A timed word: from the ASR, or a reference word placed by the aligner."""

    text: str
    start: float
    end: float
    probability: float = 1.0


class LineStatus(str, Enum):
    """How a transcript line came out of the alignment."""

    ALIGNED = "aligned"
    UNSPOKEN = "unspoken"  # the Russian text is not heard in the audio
    NO_TEXT = "no_text"  # the transcript has no Russian for this line


@dataclass(frozen=True, slots=True)
class AlignedLine:
    """A transcript line with its time in the audio: ``start``/``end`` are ``None`` unless it was heard.

    ``confidence`` (0..1) blends how much of the line the ASR heard, the
    aligner's certainty and a plausible pace; ``words`` are its Russian words,
    timed.
    """

    line: Line
    status: LineStatus
    start: float | None
    end: float | None
    confidence: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of audio with the ASR's text, e.g. speech that matches no line."""

    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Alignment:
    """The aligner's result for one episode: one entry per transcript line."""

    audio: str
    duration: float
    model: str
    lines: tuple[AlignedLine, ...]
    unscripted: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle event, carrying whole transcript lines in both languages.

    ``ru`` and ``en`` are the display rows (at most two each once broken);
    ``lines`` are the indices of the transcript lines the cue carries.
    """

    start: float
    end: float
    ru: tuple[str, ...]
    en: tuple[str, ...]
    lines: tuple[int, ...] = ()
    words: tuple[Word, ...] = ()
