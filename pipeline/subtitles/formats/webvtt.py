"""WebVTT (.vtt): both languages in one cue as classed spans, or stacked as two positioned cues."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SubtitleError
from pipeline.subtitles.formats._common import (
    Parsed,
    RawCue,
    Row,
    clean_rows,
    ms,
    normalise_languages,
    timestamp,
    to_cues,
)
from pipeline.subtitles.formats._lenient import (
    CUE_NUMBER,
    BadTiming,
    ReadWarning,
    is_timing_line,
    read_timing,
)
from pipeline.types import Cue

LAYOUTS = ("spans", "stacked")
STYLE = """STYLE
::cue(.ru) {
  color: #ffffff;
}
::cue(.en) {
  color: #ffe9a8;
  font-style: italic;
}"""
# Stacked: Russian at the top of the picture, English at the bottom, each
# growing away from the edge, so the two never cover each other.
POSITION = {"ru": "line:0 align:center", "en": "line:-1 align:center"}
_CLASS_OPEN = re.compile(r"<c((?:\.[^\s.>]+)+)[^>]*>")
_TAG = re.compile(r"<[^>]*>")


def compose_vtt(cues: Sequence[Cue], languages: Iterable[str] = ("ru", "en"), layout: str = "spans") -> str:
    """A WebVTT file; in a dual file each row is a ``<c.ru>`` or ``<c.en>`` span.

    ``layout="stacked"`` gives each language its own cue over the same time
    span, Russian at the top (``line:0``) and English at the bottom
    (``line:-1``); their identifiers ``N-ru`` and ``N-en`` share the cue number.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    langs = normalise_languages(languages)
    dual = len(langs) == 2
    out = ["WEBVTT", STYLE] if dual else ["WEBVTT"]
    number = 0
    for cue in cues:
        rows = {lang: clean_rows(cue.ru if lang == "ru" else cue.en) for lang in langs}
        if not any(rows.values()):
            continue
        number += 1
        timing = f"{timestamp(cue.start)} --> {timestamp(cue.end)}"
        if dual and layout == "stacked":
            out.extend(
                "\n".join([f"{number}-{lang}", f"{timing} {POSITION[lang]}", *_spans(lang, rows[lang])])
                for lang in langs
                if rows[lang]
            )
        elif dual:
            out.append(
                "\n".join([str(number), timing, *(s for lang in langs for s in _spans(lang, rows[lang]))])
            )
        else:
            out.append("\n".join([str(number), timing, *(escape(r) for r in rows[langs[0]])]))
    return "\n\n".join(out) + "\n"


def _spans(lang: str, rows: Sequence[str]) -> list[str]:
    return [f"<c.{lang}>{escape(row)}</c>" for row in rows]


def parse_vtt(
    text: str, languages: Iterable[str] | None = None, *, source: str | Path | None = None
) -> list[Cue]:
    """Cues from a WebVTT file; ``languages`` as given to :func:`compose_vtt`, or ``None`` to tell.

    Rows in a ``.en`` span are English and ``.ru`` Russian; unclassed rows
    belong to the file's single language. Identifiers, NOTE, STYLE and REGION
    blocks and cue settings are skipped. A stacked pair (a Russian and an
    English cue over the same time span) comes back as one cue. Cues without
    text are left out.
    """
    return [c for c in read_vtt(text, languages, source=source).cues if c.ru or c.en]


def read_vtt(
    text: str,
    languages: Iterable[str] | None = None,
    *,
    source: str | Path | None = None,
    require_header: bool = True,
) -> Parsed:
    """Every cue of a WebVTT file (those without text too), with its timing line and what was repaired.

    Blocks follow WebVTT's parsing rules: a cue ends at a blank line or at
    the next line holding "-->"; a cue whose timing line has no reading is
    dropped with a warning, the rest of the file read. The header's own lines
    (``Kind:``, ``Language:``, ``X-TIMESTAMP-MAP``, old ``Region:`` lines)
    are part of the header. Raises ``SubtitleError`` when ``require_header``
    and the file does not start with WEBVTT.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    warnings: list[ReadWarning] = []
    at = _header(lines, source, require_header, warnings)
    raw: list[RawCue] = []
    dropped = 0
    while at < len(lines):
        if not lines[at].strip():
            at += 1
            continue
        block, at = _block(lines, at)
        if block.timing is None:
            if not _silent(lines[block.start]):
                warnings.append(
                    ReadWarning(block.start + 1, "text outside any cue skipped", "text outside cues")
                )
            continue
        try:
            timing = read_timing(lines[block.timing], block.timing + 1, "vtt", warnings)
        except BadTiming as exc:
            warnings.append(ReadWarning(block.timing + 1, f"cue dropped: {exc}", "cues dropped"))
            dropped += 1
            continue
        body = list(range(block.timing + 1, block.end))
        if block.cut:
            # "2" right before the next timing line is that cue's number, not this one's text.
            next_starts = body.pop() if body and CUE_NUMBER.match(lines[body[-1]]) else block.end
            missing = "missing blank line before this cue"
            warnings.append(ReadWarning(next_starts + 1, missing, "missing blank lines"))
        rows = _classed_rows([(n + 1, lines[n]) for n in body])
        if not rows:
            warnings.append(ReadWarning(block.timing + 1, "cue without text", "cues without text"))
        raw.append(RawCue(block.timing + 1, timing.start, timing.end, rows))
    found, in_order = to_cues(raw, languages)
    cues: list[Cue] = []
    numbers: list[int] = []
    rows_out: list[tuple] = []
    for line_no, cue, rows in zip((c.line_no for c in raw), found, in_order):
        if cues and _stacked_pair(cues[-1], cue):
            cues[-1] = Cue(cue.start, cue.end, cues[-1].ru or cue.ru, cues[-1].en or cue.en)
            rows_out[-1] = rows_out[-1] + rows
            continue
        cues.append(cue)
        numbers.append(line_no)
        rows_out.append(rows)
    return Parsed(tuple(cues), tuple(numbers), tuple(rows_out), tuple(warnings), dropped)


_SIGNATURE = re.compile(r"^WEBVTT(?:[ \t].*)?$")


def _header(
    lines: Sequence[str], source: str | Path | None, required: bool, warnings: list[ReadWarning]
) -> int:
    """Where the blocks start, after the WEBVTT line and the header lines that follow it.

    A header line written a little off ("\\tWEBVTT", "WEBvtt", blank lines
    before it) is read with a warning; so is a file with no header, unless
    ``required``.
    """
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    line = lines[first] if lines else ""
    if first == 0 and _SIGNATURE.match(line):
        at = 1
    elif line.strip().upper().startswith("WEBVTT"):
        warnings.append(ReadWarning(first + 1, f"header {line!r} read as 'WEBVTT'", "odd headers"))
        at = first + 1
    elif required:
        raise SubtitleError(source, "not a WebVTT file: the first line must be WEBVTT", 1)
    else:
        warnings.append(ReadWarning(1, "WEBVTT header missing", "odd headers"))
        return 0
    # The header's own lines run to the first blank line, or to a timing line.
    while at < len(lines) and lines[at].strip() and not is_timing_line(lines[at], "vtt"):
        at += 1
    return at


@dataclass(frozen=True, slots=True)
class _Block:
    start: int  # index of its first line
    timing: int | None  # index of its timing line, if it has one
    end: int  # index after its last line
    cut: bool  # ended by the next cue's timing line rather than a blank line


def _block(lines: Sequence[str], start: int) -> tuple[_Block, int]:
    """One block from ``start`` and where the next begins.

    A timing line opens a cue as the block's first or second line (after an
    identifier); any later one ends the block and opens the next.
    """
    at, timing = start, None
    while at < len(lines):
        line = lines[at]
        if not line.strip():
            return _Block(start, timing, at, False), at + 1
        if is_timing_line(line, "vtt"):
            if timing is None and at - start <= 1:
                timing = at
            else:
                return _Block(start, timing, at, True), at
        at += 1
    return _Block(start, timing, at, False), at


def _silent(first: str) -> bool:
    """Blocks that are no cue and need no word: comments, style sheets, regions."""
    head = first.split(maxsplit=1)[0] if first.strip() else ""
    # "REGION:"/"Region:" blocks are the old syntax of region definitions.
    return head in ("NOTE", "STYLE", "REGION") or head.rstrip(":").upper() == "REGION"


def _stacked_pair(a: Cue, b: Cue) -> bool:
    same_time = ms(a.start) == ms(b.start) and ms(a.end) == ms(b.end)
    return same_time and bool(a.ru) != bool(a.en) and bool(b.ru) != bool(b.en) and bool(a.ru) != bool(b.ru)


def _classed_rows(lines: Sequence[tuple[int, str]]) -> tuple[Row, ...]:
    """Each non-empty text row, marked with the language its ``<c.xx>`` span gives, if any."""
    out: list[Row] = []
    current: str | None = None  # a span may run over several rows
    for line_no, line in lines:
        opened = _CLASS_OPEN.search(line)
        if opened:
            classes = opened.group(1).split(".")
            current = next((c for c in classes if c in ("ru", "en")), current)
        row = " ".join(html.unescape(_TAG.sub("", line)).split())
        if row:
            out.append(Row(line_no, row, current))
        if "</c>" in line:
            current = None
    return tuple(out)


def escape(row: str) -> str:
    return row.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
