"""SubRip (.srt): Russian rows above English rows, English in italics."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path

import srt

from pipeline.errors import SubtitleError
from pipeline.subtitles.formats._common import (
    Parsed,
    RawCue,
    Row,
    clean_rows,
    ms,
    normalise_languages,
    to_cues,
)
from pipeline.subtitles.formats._lenient import (
    CUE_NUMBER,
    BadTiming,
    ReadWarning,
    has_tags,
    is_timing_line,
    read_timing,
    strip_tags,
)
from pipeline.types import Cue

_NOT_ITALIC = re.compile(r"</?(?!i>)[A-Za-z][^<>]*>|\{\\[^{}]*\}")


def compose_srt(cues: Sequence[Cue], languages: Iterable[str] = ("ru", "en")) -> str:
    """An SRT file of ``cues`` in one language or both; cues with nothing to show are left out.

    Each English row is wrapped in its own ``<i>…</i>`` in a dual file, so the
    marker survives players and editors that handle one row at a time.
    """
    langs = normalise_languages(languages)
    dual = len(langs) == 2
    subs = []
    for cue in cues:
        ru_rows = clean_rows(cue.ru) if "ru" in langs else ()
        en_rows = clean_rows(cue.en) if "en" in langs else ()
        if dual:
            en_rows = tuple(f"<i>{r}</i>" for r in en_rows)
        rows = [*ru_rows, *en_rows]
        if not rows:
            continue
        start, end = timedelta(milliseconds=ms(cue.start)), timedelta(milliseconds=ms(cue.end))
        subs.append(srt.Subtitle(index=len(subs) + 1, start=start, end=end, content="\n".join(rows)))
    return srt.compose(subs, reindex=False)


def parse_srt(
    text: str, languages: Iterable[str] | None = None, *, source: str | Path | None = None
) -> list[Cue]:
    """Cues from an SRT file; ``languages`` as given to :func:`compose_srt`, or ``None`` to tell.

    In a dual file rows inside ``<i>`` are English and the others Russian.
    Cues without text are left out.
    """
    return [c for c in read_srt(text, languages, source=source).cues if c.ru or c.en]


def read_srt(
    text: str, languages: Iterable[str] | None = None, *, source: str | Path | None = None
) -> Parsed:
    """Every cue of an SRT file (those without text too), with its timing line and what was repaired.

    Tolerates missing, odd or wrong cue numbers ("2.2", "-2"), a missing blank
    line between cues, blank lines inside a cue, formatting tags and
    malformed timestamps; a cue whose timing line has no reading is dropped
    with a warning. Raises ``SubtitleError`` only for text without a single
    timing line.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    timings = [i for i, line in enumerate(lines) if is_timing_line(line, "srt")]
    if not timings and any(line.strip() for line in lines):
        raise SubtitleError(source, "not an SRT file: no timing line like 00:00:01,000 --> 00:00:02,500")
    warnings: list[ReadWarning] = []
    starts = [_block_start(lines, at, timings[k - 1] if k else -1, warnings) for k, at in enumerate(timings)]
    if timings and any(line.strip() for line in lines[: starts[0]]):
        first = next(i for i, line in enumerate(lines) if line.strip())
        warnings.append(ReadWarning(first + 1, "text before the first cue skipped"))
    raw: list[RawCue] = []
    dropped = 0
    for k, at in enumerate(timings):
        stop = starts[k + 1] if k + 1 < len(timings) else len(lines)
        body = lines[at + 1 : stop]
        while body and not body[-1].strip():
            body.pop()
        try:
            timing = read_timing(lines[at], at + 1, "srt", warnings)
        except BadTiming as exc:
            warnings.append(ReadWarning(at + 1, f"cue dropped: {exc}", "cues dropped"))
            dropped += 1
            continue
        if body and k + 1 < len(timings) and stop == len(body) + at + 1:
            warnings.append(
                ReadWarning(stop + 1, "missing blank line before this cue", "missing blank lines")
            )
        first_blank = next((i for i, row in enumerate(body) if not row.strip()), len(body))
        if first_blank < len(body):
            warnings.append(
                ReadWarning(
                    at + 2 + first_blank,
                    "blank line inside a cue; the text after it kept",
                    "blank lines in cues",
                )
            )
        rows = [(at + 2 + i, row.strip()) for i, row in enumerate(body) if row.strip()]
        if not rows:
            warnings.append(ReadWarning(at + 1, "cue without text", "cues without text"))
        raw.append(RawCue(at + 1, timing.start, timing.end, _rows(rows, warnings)))
    cues, in_order = to_cues(raw, languages)
    return Parsed(tuple(cues), tuple(c.line_no for c in raw), tuple(in_order), tuple(warnings), dropped)


def _block_start(lines: Sequence[str], timing: int, previous: int, warnings: list[ReadWarning]) -> int:
    """Where the cue of the timing line at ``timing`` starts: at its cue number, if it has one.

    The line before a timing line is the cue number when it looks like one
    (also "2.2", "-2") or stands alone after a blank line; otherwise it is
    the end of the previous cue's text.
    """
    before = timing - 1
    if before <= previous or not lines[before].strip():
        return timing
    if CUE_NUMBER.match(lines[before]):
        return before
    if before == 0 or not lines[before - 1].strip():
        shown = lines[before].strip()
        warnings.append(ReadWarning(before + 1, f"cue number {shown!r} is not a number", "odd cue numbers"))
        return before
    return timing


def _rows(rows: Sequence[tuple[int, str]], warnings: list[ReadWarning]) -> tuple[Row, ...]:
    """The rows as shown, italic ones marked; tags other than italics are noted once per file."""
    if not any(w.kind == "formatting tags" for w in warnings):
        tagged = next((n for n, r in rows if _NOT_ITALIC.search(r)), None)
        if tagged is not None:
            warnings.append(ReadWarning(tagged, "formatting tags removed (first here)", "formatting tags"))
    marks = _italic_rows([_NOT_ITALIC.sub("", r).strip() for _, r in rows])
    out = []
    for (line_no, row), italic in zip(rows, marks):
        shown = strip_tags(row) if has_tags(row) else row
        if shown:
            out.append(Row(line_no, shown, "i" if italic else None))
    return tuple(out)


def _italic_rows(rows: Sequence[str]) -> list[bool]:
    """Which rows are inside ``<i>…</i>``, whether each row or the whole block is wrapped."""
    marked, open_ = [], False
    for row in rows:
        italic = open_ or row.startswith("<i>")
        open_ = italic and not row.endswith("</i>")
        marked.append(italic)
    return marked
