"""Reading real-world subtitle files: encodings, blocks, timing lines and timestamps.

Files from editors, players and download sites come in Windows-1251 or
UTF-16, with CRLF line ends, hand-typed timestamps and formatting tags. What
has one sensible reading is read that way and reported as a
:class:`ReadWarning`; what has none raises ``SubtitleError`` with the line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SubtitleError
from pipeline.subtitles.formats._common import timestamp

_CYRILLIC_UPPER = re.compile(r"[А-ЯЁ]")
_CYRILLIC_LOWER = re.compile(r"[а-яё]")
# Arrows as typed by hand or mangled by word processors.
_ARROW = r"(?:-->|->|-\s+->|--\s+>|—>|–>|=>|-->>)"
_STAMP = r"\d+(?:\s*[:.,;]\s*\d+){0,3}"
TIMING = re.compile(rf"^\s*({_STAMP})\s*{_ARROW}\s*({_STAMP})(?:(\s.*))?$")
# Stamp-like, an arrow, stamp-like: so a line of dialogue such as "2:1 -> финал" is text.
_LOOKS_TIMED = re.compile(rf"^\s*\d[\d\s:.,;]*{_ARROW}\s*\d")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|\{\\[^{}]*\}")


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """Something a reader repaired; ``line_no`` is 1-based, 0 for the whole file."""

    line_no: int
    message: str


def decode(data: bytes, source: str | Path | None = None) -> tuple[str, list[ReadWarning]]:
    """The text of a subtitle file with ``\\n`` line ends, and how it was decoded if unusual."""
    warnings: list[ReadWarning] = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not data.startswith(
        codecs.BOM_UTF32_LE
    ):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SubtitleError(source, f"broken UTF-16 text: {exc.reason}") from exc
        warnings.append(ReadWarning(0, "read as UTF-16"))
    elif b"\x00" in data:
        line_no = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SubtitleError(source, "contains NUL bytes: a binary file, not subtitles", line_no)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text = _cp1251(data, exc, source)
            warnings.append(ReadWarning(0, "not UTF-8; read as Windows-1251"))
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n"), warnings


def _cp1251(data: bytes, exc: UnicodeDecodeError, source: str | Path | None) -> str:
    line_no = data[: exc.start].count(b"\n") + 1
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        raise SubtitleError(source, "neither UTF-8 nor Windows-1251 text", line_no) from None
    # KOI8-R and Latin-1 also decode as cp1251, but come out mostly capitals
    # or as stray letters; Russian prose is mostly lower case.
    if len(_CYRILLIC_UPPER.findall(text)) > len(_CYRILLIC_LOWER.findall(text)):
        raise SubtitleError(
            source, "not UTF-8, and as Windows-1251 it does not read as Russian; save it as UTF-8", line_no
        )
    return text


@dataclass(frozen=True, slots=True)
class Block:
    """Lines between blank lines; ``line_no`` is the 1-based number of the first."""

    line_no: int
    lines: tuple[str, ...]


def blocks(text: str) -> Iterator[Block]:
    """The blank-line separated blocks of ``text`` (already decoded), with their line numbers."""
    current: list[str] = []
    first = 0
    for n, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not current:
                first = n
            current.append(line.rstrip())
        elif current:
            yield Block(first, tuple(current))
            current = []
    if current:
        yield Block(first, tuple(current))


def looks_like_timing(line: str) -> bool:
    """A line meant as a timing line, even one too broken to read."""
    return "-->" in line or bool(_LOOKS_TIMED.search(line))


def read_timing(
    line: str, line_no: int, fmt: str, source: str | Path | None, warnings: list[ReadWarning]
) -> tuple[float, float, str]:
    """Start, end and the rest of the line (VTT cue settings) of a timing line.

    ``fmt`` is ``"srt"`` or ``"vtt"``; a timestamp in the other format's style
    or otherwise off the standard is read with a warning.
    """
    match = TIMING.match(line)
    if match is None:
        raise SubtitleError(source, f"bad timing line {line.strip()!r}", line_no)
    start = _seconds(match.group(1), line_no, fmt, source, warnings)
    end = _seconds(match.group(2), line_no, fmt, source, warnings)
    if "-->" not in line or not re.search(r"\S \-\-> \S", line):
        warnings.append(ReadWarning(line_no, f"timing arrow repaired in {line.strip()!r}"))
    return start, end, (match.group(3) or "").strip()


_CANONICAL = {
    "srt": re.compile(r"^\d{2,}:\d{2}:\d{2},\d{3}$"),
    "vtt": re.compile(r"^(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}$"),
}


def _seconds(stamp: str, line_no: int, fmt: str, source: str | Path | None, out: list[ReadWarning]) -> float:
    compact = re.sub(r"\s+", "", stamp)
    parts = re.split(r"([:.,;])", compact)
    numbers, seps = parts[0::2], parts[1::2]
    fraction = ""
    if seps and (seps[-1] in ".,;" or len(numbers) == 4):
        # A last group after "." or "," is the fraction; so is a fourth group
        # after ":" ("00:00:01:500"), which only a millisecond typo produces.
        fraction = numbers.pop()
        seps.pop()
    if (
        not 2 <= len(numbers) <= 3
        or any(s != ":" for s in seps)
        or any(len(n) > 9 for n in [*numbers, fraction])
    ):
        raise SubtitleError(source, f"bad timestamp {stamp.strip()!r}", line_no)
    hours, minutes, secs = ([0] * (3 - len(numbers))) + [int(n) for n in numbers]
    if minutes >= 60 or secs >= 60:
        raise SubtitleError(
            source, f"bad timestamp {stamp.strip()!r}: minutes and seconds run to 59", line_no
        )
    value = hours * 3600 + minutes * 60 + secs + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)
    value = round(value, 3)
    if not _CANONICAL[fmt].match(compact) or compact != stamp.strip():
        shown = timestamp(value, "," if fmt == "srt" else ".")
        out.append(ReadWarning(line_no, f"malformed timestamp {stamp.strip()!r} read as {shown}"))
    return value


def strip_tags(row: str) -> str:
    """A row without HTML-like and ASS override tags, spaces collapsed."""
    return " ".join(_TAG.sub("", row).split())


def has_tags(row: str) -> bool:
    return bool(_TAG.search(row))
