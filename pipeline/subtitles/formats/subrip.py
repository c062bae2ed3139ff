"""SubRip (.srt): Russian rows above English rows, English in italics."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path

import srt

from pipeline.errors import SubtitleError
from pipeline.subtitles.formats._common import clean_rows, ms, normalise_languages, unmarked_language
from pipeline.subtitles.formats._lenient import (
    ReadWarning,
    has_tags,
    looks_like_timing,
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
    """Cues from an SRT file; ``languages`` as given to :func:`compose_srt`, or ``None`` to guess.

    In a dual file rows inside ``<i>`` are English and the others Russian.
    """
    return read_srt(text, languages, source=source)[0]


def read_srt(
    text: str, languages: Iterable[str] | None = None, *, source: str | Path | None = None
) -> tuple[list[Cue], list[int], list[ReadWarning]]:
    """Cues, the line number of each cue's timing line, and what had to be repaired.

    Tolerates missing or wrong cue numbers, a missing blank line between cues,
    blank lines inside a cue, formatting tags and malformed timestamps; raises
    ``SubtitleError`` (with the line) for a timing line it cannot read or a
    file with no cues at all.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    warnings: list[ReadWarning] = []
    timings = [i for i, line in enumerate(lines) if looks_like_timing(line)]
    if not timings and any(line.strip() for line in lines):
        raise SubtitleError(source, "not a valid SRT file: no timing line like 00:00:01,000 --> 00:00:02,500")
    if not timings:
        return [], [], warnings
    if any(line.strip() for line in lines[: _index_line(lines, timings[0])]):
        warnings.append(ReadWarning(1, "text before the first cue skipped"))
    raw: list[tuple[int, float, float, list[tuple[int, str]]]] = []
    for k, at in enumerate(timings):
        start, end, _ = read_timing(lines[at], at + 1, "srt", source, warnings)
        stop = _index_line(lines, timings[k + 1]) if k + 1 < len(timings) else len(lines)
        body = lines[at + 1 : stop]
        rows = [(at + 2 + i, row.strip()) for i, row in enumerate(body) if row.strip()]
        if rows and body[-1].strip() and k + 1 < len(timings):
            warnings.append(ReadWarning(stop + 1, "missing blank line before this cue"))
        first_blank = next((i for i, row in enumerate(body) if not row.strip()), len(body))
        if any(row.strip() for row in body[first_blank:]):
            warnings.append(
                ReadWarning(at + 2 + first_blank, "blank line inside a cue; the text after it kept")
            )
        if not rows:
            warnings.append(ReadWarning(at + 1, "cue without text skipped"))
            continue
        raw.append((at + 1, start, end, rows))
    return _cues(raw, text, languages, warnings), [n for n, *_ in raw], warnings


def _index_line(lines: Sequence[str], timing: int) -> int:
    """Where the block of the timing line at ``timing`` starts: at its cue number, if it has one."""
    return timing - 1 if timing > 0 and lines[timing - 1].strip().isdigit() else timing


def _cues(
    raw: Sequence[tuple[int, float, float, list[tuple[int, str]]]],
    text: str,
    languages: Iterable[str] | None,
    warnings: list[ReadWarning],
) -> list[Cue]:
    langs = normalise_languages(languages) if languages is not None else None
    tagged = next((n for *_, rows in raw for n, r in rows if _NOT_ITALIC.search(r)), None)
    if tagged is not None:
        warnings.append(ReadWarning(tagged, "formatting tags removed (first here)"))
    marks = [_italic_rows([_NOT_ITALIC.sub("", r).strip() for _, r in rows]) for *_, rows in raw]
    plain = unmarked_language(text, langs, any(any(m) for m in marks))
    cues = []
    for (_, start, end, rows), marked in zip(raw, marks):
        ru: list[str] = []
        en: list[str] = []
        for (_, row), italic in zip(rows, marked):
            lang = langs[0] if langs is not None and len(langs) == 1 else ("en" if italic else plain)
            shown = strip_tags(row) if has_tags(row) else row
            if shown:
                (en if lang == "en" else ru).append(shown)
        cues.append(Cue(start=start, end=end, ru=tuple(ru), en=tuple(en)))
    return cues


def _italic_rows(rows: Sequence[str]) -> list[bool]:
    """Which rows are inside ``<i>…</i>``, whether each row or the whole block is wrapped."""
    marked, open_ = [], False
    for row in rows:
        italic = open_ or row.startswith("<i>")
        open_ = italic and not row.endswith("</i>")
        marked.append(italic)
    return marked
