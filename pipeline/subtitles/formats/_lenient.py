"""Reading real-world subtitle files: timing lines, timestamps, tags, and what had to be repaired.

Files from editors, players and download sites come with hand-typed
timestamps, odd arrows and formatting tags. What has one sensible reading is
read that way and reported as a :class:`ReadWarning`; a timing line with no
reading drops its cue (as WebVTT's parsing rules do) with a warning that says
why, and the rest of the file is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.subtitles.formats._common import ReadWarning, timestamp

__all__ = [
    "CUE_NUMBER",
    "BadTiming",
    "ReadWarning",
    "Timing",
    "has_tags",
    "is_timing_line",
    "read_timing",
    "strip_tags",
]

# Timestamp separators, the full-width ones of Chinese and Japanese files included.
_SEPARATORS = str.maketrans("：，．。", ":,..")
_SEP = r"[:.,;：，．。]"
_STAMP = rf"-?\d+(?:\s*{_SEP}\s*\d+){{0,3}}"
# Any run of dashes (or "=") ending in ">": "-->", "->", "- ->", "-- >", "- >", "--->", "=>", "—>".
_ARROW = r"(?:[-‐‑–—=]\s*){1,4}>{1,2}|→"
TIMING = re.compile(rf"^\s*(?P<start>{_STAMP})\s*(?P<arrow>{_ARROW})\s*(?P<end>{_STAMP})(?P<rest>.*)$")
# A stamp-like start and an arrow: meant as a timing line, however broken the rest.
_LOOKS_TIMED = re.compile(rf"^\s*-?\d[\d\s:.,;：，．。]*(?:{_ARROW})")
# A cue number as editors write them: "12", "-2", "2.2", "002".
CUE_NUMBER = re.compile(r"^\s*-?\d+(?:[.,]\d*)?\s*$")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|\{\\[^{}]*\}")
_CANONICAL = {
    "srt": re.compile(r"^\d{2,}:\d{2}:\d{2},\d{3}$"),
    "vtt": re.compile(r"^(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}$"),
}


@dataclass(frozen=True, slots=True)
class Timing:
    start: float
    end: float
    settings: str  # the rest of the line: WebVTT cue settings, SRT coordinates


class BadTiming(ValueError):
    """A timing line with no sensible reading; the message says why."""


def is_timing_line(line: str, fmt: str) -> bool:
    """A line meant as a timing line, even one too broken to read.

    That is any line holding "-->", as WebVTT's parsing rules say, and one
    that reads as a timing line once its arrow is repaired ("0:01,500 - >
    0:02,000"); dialogue such as "2:1 -> final" stays text.
    """
    if "-->" in line:
        return True
    if _LOOKS_TIMED.match(line) is None:
        return False
    try:
        read_timing(line, 0, fmt, [])
    except BadTiming:
        return False
    return True


def read_timing(line: str, line_no: int, fmt: str, warnings: list[ReadWarning]) -> Timing:
    """Start, end and the rest of a timing line; raises :class:`BadTiming` saying what is wrong.

    ``fmt`` is ``"srt"`` or ``"vtt"``; a timestamp in the other format's style
    or otherwise off the standard is read with a warning, and so is an arrow
    other than ``-->``.
    """
    shown = line.strip()
    match = TIMING.match(line)
    if match is None:
        raise BadTiming(_why_not(line))
    rest = match["rest"]
    # WebVTT lets cue settings touch a whole end time ("00:01.000line:40%"); anything
    # else glued to the end time ("00:00:6x") is a broken time, not settings.
    glued_settings = fmt == "vtt" and rest[:1].isalpha() and _CANONICAL["vtt"].match(match["end"].strip())
    if rest and not rest[0].isspace() and not glued_settings:
        token = (match["end"] + rest).split()[0]
        raise BadTiming(f"bad timing line {shown!r}: {token!r} is not a timestamp")
    found: list[ReadWarning] = []
    try:
        start = _seconds(match["start"], line_no, fmt, found)
        end = _seconds(match["end"], line_no, fmt, found)
    except BadTiming as exc:
        raise BadTiming(f"bad timing line {shown!r}: {exc}") from None
    arrow = match["arrow"]
    if arrow != "-->":
        found.append(ReadWarning(line_no, f"timing arrow {arrow!r} read as '-->' in {shown!r}", "odd arrows"))
    warnings.extend(found)
    return Timing(start, end, rest.strip())


def _why_not(line: str) -> str:
    """What keeps a timing line from being read, for the warning that drops its cue."""
    shown = line.strip()
    parts = re.split(_ARROW, shown, maxsplit=1)
    if len(parts) < 2:
        return f"bad timing line {shown!r}: no arrow '-->' between two times"
    left, right = parts[0].strip(), parts[1].strip()
    for stamp, which in ((left, "start"), (right.split()[0] if right else "", "end")):
        if not stamp:
            return f"bad timing line {shown!r}: no {which} time"
        _, why = _parse_stamp(stamp)
        if why:
            return f"bad timing line {shown!r}: {why}"
    return f"bad timing line {shown!r}"


def _seconds(stamp: str, line_no: int, fmt: str, out: list[ReadWarning]) -> float:
    value, why = _parse_stamp(stamp)
    if value is None:
        raise BadTiming(why)
    compact = re.sub(r"\s+", "", stamp)
    if not _CANONICAL[fmt].match(compact) or compact != stamp.strip():
        shown = timestamp(value, "," if fmt == "srt" else ".")
        message = f"malformed timestamp {stamp.strip()!r} read as {shown}"
        out.append(ReadWarning(line_no, message, "malformed timestamps"))
    return value


def _parse_stamp(stamp: str) -> tuple[float | None, str]:
    """Seconds of a timestamp as people write them, or ``None`` and why not.

    Hours may be missing; a last group after "." or "," is a fraction of a
    second however many digits it has ("1,5" is 1.5 s), and so is a fourth
    group after ":" ("00:00:01:500"), which only a millisecond typo makes.
    """
    shown = stamp.strip()
    compact = re.sub(r"\s+", "", stamp).translate(_SEPARATORS)
    if compact.startswith("-"):
        return None, f"{shown!r} is a negative time"
    parts = re.split(r"([:.,;])", compact)
    numbers, seps = parts[0::2], parts[1::2]
    if not all(n.isdigit() for n in numbers):
        return None, f"{shown!r} is not a timestamp"
    fraction = ""
    if seps and (seps[-1] in ".,;" or len(numbers) == 4):
        fraction = numbers.pop()
        seps.pop()
    if not 2 <= len(numbers) <= 3 or any(s != ":" for s in seps):
        return None, f"{shown!r} is not a timestamp (hours:minutes:seconds,milliseconds)"
    if any(len(n) > 9 for n in [*numbers, fraction]):
        return None, f"{shown!r} has too many digits"
    hours, minutes, secs = ([0] * (3 - len(numbers))) + [int(n) for n in numbers]
    if minutes >= 60 or secs >= 60:
        return None, f"{shown!r}: minutes and seconds run to 59"
    value = hours * 3600 + minutes * 60 + secs + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)
    return round(value, 3), ""


def strip_tags(row: str) -> str:
    """A row without HTML-like and ASS override tags, spaces collapsed."""
    return " ".join(_TAG.sub("", row).split())


def has_tags(row: str) -> bool:
    return bool(_TAG.search(row))
