"""Reading subtitle files from anywhere: the entry point for commands that take subtitles.

The format is told by the content (a ``WEBVTT`` header) before the file name,
since downloaded files are often misnamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.errors import SubtitleError
from pipeline.fileio import check_input
from pipeline.subtitles.formats._common import ms
from pipeline.subtitles.formats._lenient import ReadWarning, decode
from pipeline.subtitles.formats.subrip import read_srt
from pipeline.subtitles.formats.webvtt import read_vtt
from pipeline.types import Cue

MAX_BYTES = 20 * 1024 * 1024  # a feature film's subtitles are well under 1 MB
_EMPTY_DURATION = 1.0  # what a zero-length cue gets, when the next cue leaves room


@dataclass(frozen=True, slots=True)
class SubtitleFile:
    """The cues of a file, the line of each cue's timing line, and every repair made reading it."""

    path: str
    format: str  # "srt" or "vtt"
    cues: tuple[Cue, ...]
    line_numbers: tuple[int, ...]
    warnings: tuple[ReadWarning, ...]


def read_subtitles(
    path: str | Path, languages: Iterable[str] | None = None, *, repair: bool = False
) -> SubtitleFile:
    """Read an SRT or WebVTT file, repairing what has one sensible reading.

    With ``repair``, timing faults are mended too (see :func:`repair_timing`);
    without it they are kept, for ``lint`` to report. Raises ``InputNotFound``
    and ``SubtitleError``.
    """
    path = Path(path)
    check_input(path, "subtitle file", SubtitleError, MAX_BYTES)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubtitleError(path, f"cannot be read: {exc.strerror or exc}") from exc
    text, warnings = decode(data, path)
    if text.lstrip().startswith("WEBVTT"):
        fmt, read = "vtt", read_vtt(text, languages, source=path)
    elif path.suffix.lower() == ".vtt":
        fmt, read = "vtt", read_vtt(text, languages, source=path, require_header=False)
    else:
        fmt, read = "srt", read_srt(text, languages, source=path)
    cues, numbers, more = read
    warnings += more
    if not cues:
        warnings.append(ReadWarning(0, "no cues in this file"))
    if repair:
        cues, numbers, fixed = repair_timing(cues, numbers)
        warnings += fixed
    ordered = sorted(warnings, key=lambda w: w.line_no)  # file-wide ones first, then down the file
    return SubtitleFile(str(path), fmt, tuple(cues), tuple(numbers), tuple(ordered))


def repair_timing(
    cues: Sequence[Cue], line_numbers: Sequence[int]
) -> tuple[list[Cue], list[int], list[ReadWarning]]:
    """Cues in time order, without overlaps or zero-length cues, and a warning for each change.

    Cues starting together become one; an overlapping cue ends where the next
    begins; a cue of no length gets up to a second, as far as the next allows.
    """
    warnings: list[ReadWarning] = []
    order = sorted(range(len(cues)), key=lambda i: (ms(cues[i].start), i))
    if order != list(range(len(cues))):
        warnings.append(ReadWarning(0, "cues out of time order; sorted"))
    merged: list[tuple[Cue, int]] = []
    for i in order:
        cue, line_no = cues[i], line_numbers[i]
        if merged and ms(merged[-1][0].start) == ms(cue.start):
            last, first_line = merged[-1]
            end = max(last.end, cue.end)
            merged[-1] = (Cue(last.start, end, last.ru + cue.ru, last.en + cue.en), first_line)
            warnings.append(ReadWarning(line_no, "cue starts with the one before; merged into it"))
            continue
        merged.append((cue, line_no))
    out: list[Cue] = []
    for k, (cue, line_no) in enumerate(merged):
        nxt = merged[k + 1][0].start if k + 1 < len(merged) else None
        end = cue.end
        if nxt is not None and ms(end) > ms(nxt):
            end = nxt
            warnings.append(
                ReadWarning(line_no, "cue overlaps the next one; its end moved to the next start")
            )
        if ms(end) <= ms(cue.start):
            end = cue.start + _EMPTY_DURATION if nxt is None else min(cue.start + _EMPTY_DURATION, nxt)
            warnings.append(ReadWarning(line_no, f"cue has no duration; shown for {end - cue.start:.3f} s"))
        out.append(replace(cue, end=end))
    return out, [n for _, n in merged], warnings
