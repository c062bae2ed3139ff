"""Reading subtitle files from anywhere: the entry point for commands that take subtitles.

The encoding is detected (:mod:`pipeline.encoding`) unless given; the format
is told by the content (a ``WEBVTT`` header) before the file name, since
downloaded files are often misnamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.encoding import decode
from pipeline.errors import SubtitleError
from pipeline.fileio import check_input
from pipeline.subtitles.formats._common import Parsed, ms
from pipeline.subtitles.formats._lenient import ReadWarning
from pipeline.subtitles.formats.subrip import read_srt
from pipeline.subtitles.formats.webvtt import read_vtt
from pipeline.types import Cue

MAX_BYTES = 20 * 1024 * 1024  # a feature film's subtitles are well under 1 MB
_EMPTY_DURATION = 1.0  # what a zero-length cue gets, when the next cue leaves room


@dataclass(frozen=True, slots=True)
class SubtitleFile:
    """The cues of a file in file order, and how it was read.

    ``cues`` holds every cue, those without text too, so the N-th is cue N
    of the file (a stacked WebVTT pair counts once); ``line_numbers`` holds
    each cue's timing line, ``rows`` each cue's rows as ``(language, text)``
    in their own order. ``dropped`` counts cues whose timing line could not
    be read (each has a warning).
    """

    path: str
    format: str  # "srt" or "vtt"
    cues: tuple[Cue, ...]
    line_numbers: tuple[int, ...]
    warnings: tuple[ReadWarning, ...]
    rows: tuple[tuple[tuple[str, str], ...], ...] = ()
    encoding: str = "UTF-8"
    dropped: int = 0


def read_subtitles(
    path: str | Path,
    languages: Iterable[str] | None = None,
    *,
    repair: bool = False,
    encoding: str | None = None,
) -> SubtitleFile:
    """Read an SRT or WebVTT file, repairing what has one sensible reading.

    ``languages`` as the readers take it (``None``: told from the file);
    ``encoding`` overrides the detected one. With ``repair``, timing faults
    are mended too and cues without text left out (see :func:`repair_timing`);
    without it they are kept, for ``lint`` to report. Raises
    ``InputNotFound``, and ``SubtitleError`` for a file that is not subtitles
    or has no cue with text.
    """
    path = Path(path)
    check_input(path, "subtitle file", SubtitleError, MAX_BYTES)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubtitleError(path, f"cannot be read: {exc.strerror or exc}") from exc
    decoded = decode(
        data,
        path,
        SubtitleError,
        encoding=encoding,
        hint="save it as UTF-8, or name its encoding with --encoding",
        binary_hint="give an .srt or .vtt file",
    )
    warnings = []
    if decoded.note:
        guessed = "; --encoding names another" if decoded.how == "letters" else ""
        warnings.append(ReadWarning(0, decoded.note + guessed))
    fmt, parsed = parse_subtitles(decoded.text, path, languages)
    require_text(parsed, path, empty=not data.strip())
    warnings += parsed.warnings
    cues, numbers, rows = list(parsed.cues), list(parsed.line_numbers), list(parsed.rows)
    if repair:
        cues, numbers, fixed = repair_timing(cues, numbers)
        rows = []
        warnings += fixed
    ordered = sorted(warnings, key=lambda w: w.line_no)  # file-wide ones first, then down the file
    return SubtitleFile(
        str(path), fmt, tuple(cues), tuple(numbers), tuple(ordered), tuple(rows), decoded.name, parsed.dropped
    )


def parse_subtitles(
    text: str, path: str | Path, languages: Iterable[str] | None = None
) -> tuple[str, Parsed]:
    """The format ("srt" or "vtt") and the cues of decoded text.

    The format is told by the content (a ``WEBVTT`` header) before the file
    name, since downloaded files are often misnamed.
    """
    if text.lstrip()[:6].upper() == "WEBVTT":
        return "vtt", read_vtt(text, languages, source=path, require_header=False)
    if Path(path).suffix.lower() == ".vtt":
        return "vtt", read_vtt(text, languages, source=path, require_header=False)
    return "srt", read_srt(text, languages, source=path)


def require_text(parsed: Parsed, path: str | Path, *, empty: bool) -> None:
    """An error for a file with nothing to show: empty, headers only, or every cue unreadable."""
    if any(cue.ru or cue.en for cue in parsed.cues):
        return
    if parsed.dropped:
        first = next(w for w in parsed.warnings if w.kind == "cues dropped")
        problem = f"no cues: {parsed.dropped} unreadable, the first at line {first.line_no} ({first.message})"
        raise SubtitleError(path, problem.replace("(cue dropped: ", "("))
    if parsed.cues:
        raise SubtitleError(path, f"no cues with text: its {len(parsed.cues)} cues are all empty")
    missing = "the file is empty" if empty else "no timing line like 00:00:01.000 --> 00:00:02.500"
    raise SubtitleError(path, f"no cues: {missing}")


def repair_timing(
    cues: Sequence[Cue], line_numbers: Sequence[int]
) -> tuple[list[Cue], list[int], list[ReadWarning]]:
    """Cues in time order, without overlaps, empty or zero-length cues, and a warning for each change.

    Cues without text are left out; cues starting together become one; an overlapping cue ends where the next
    begins; a cue of no length gets up to a second, as far as the next allows.
    """
    warnings: list[ReadWarning] = []
    kept = [i for i, cue in enumerate(cues) if cue.ru or cue.en]
    cues, line_numbers = [cues[i] for i in kept], [line_numbers[i] for i in kept]
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
