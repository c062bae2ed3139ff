"""WebVTT (.vtt): both languages in one cue as classed spans, or stacked as two positioned cues."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from pipeline.errors import SubtitleError
from pipeline.subtitles.formats._common import (
    clean_rows,
    ms,
    normalise_languages,
    timestamp,
    unmarked_language,
)
from pipeline.subtitles.formats._lenient import ReadWarning, blocks, looks_like_timing, read_timing
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
_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
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
    """Cues from a WebVTT file; ``languages`` as given to :func:`compose_vtt`, or ``None`` to guess.

    Rows in a ``.en`` span are English and ``.ru`` Russian; unclassed rows
    belong to the file's single language. Identifiers, NOTE, STYLE and REGION
    blocks and cue settings are skipped. A stacked pair (a Russian and an
    English cue over the same time span) comes back as one cue.
    """
    return read_vtt(text, languages, source=source)[0]


def read_vtt(
    text: str,
    languages: Iterable[str] | None = None,
    *,
    source: str | Path | None = None,
    require_header: bool = True,
) -> tuple[list[Cue], list[int], list[ReadWarning]]:
    """Cues, the line number of each cue's timing line, and what had to be repaired."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    found = list(blocks(text))
    warnings: list[ReadWarning] = []
    if found and _HEADER.match(found[0].lines[0]):
        first, *found = found
        # Cues may follow the header with no blank line in hand-made files.
        found = [type(first)(first.line_no + 1, first.lines[1:]), *found] if len(first.lines) > 1 else found
    elif require_header:
        raise SubtitleError(source, "not a WebVTT file: the first line must be WEBVTT", 1)
    else:
        warnings.append(ReadWarning(1, "WEBVTT header missing"))
    langs = normalise_languages(languages) if languages is not None else None
    raw: list[tuple[int, float, float, list[tuple[str | None, str]]]] = []
    for block in found:
        head = block.lines[0].split(maxsplit=1)[0]
        if head in ("NOTE", "STYLE", "REGION"):
            continue
        at = next((i for i, line in enumerate(block.lines[:2]) if looks_like_timing(line)), None)
        if at is None:
            warnings.append(ReadWarning(block.line_no, "text outside any cue skipped"))
            continue
        line_no = block.line_no + at
        start, end, _settings = read_timing(block.lines[at], line_no, "vtt", source, warnings)
        rows = _classed_rows(block.lines[at + 1 :])
        if not rows:
            warnings.append(ReadWarning(line_no, "cue without text skipped"))
            continue
        raw.append((line_no, start, end, rows))
    any_classed = any(lang is not None for *_, rows in raw for lang, _ in rows)
    plain = unmarked_language(text, langs, any_classed)
    cues: list[Cue] = []
    numbers: list[int] = []
    for line_no, start, end, rows in raw:
        ru: list[str] = []
        en: list[str] = []
        for lang, row in rows:
            if langs is not None and len(langs) == 1:
                lang = langs[0]
            (en if (lang or plain) == "en" else ru).append(row)
        cue = Cue(start=start, end=end, ru=tuple(ru), en=tuple(en))
        if cues and _stacked_pair(cues[-1], cue):
            cues[-1] = Cue(start, end, cues[-1].ru or cue.ru, cues[-1].en or cue.en)
            continue
        cues.append(cue)
        numbers.append(line_no)
    return cues, numbers, warnings


def _stacked_pair(a: Cue, b: Cue) -> bool:
    same_time = ms(a.start) == ms(b.start) and ms(a.end) == ms(b.end)
    return same_time and bool(a.ru) != bool(a.en) and bool(b.ru) != bool(b.en) and bool(a.ru) != bool(b.ru)


def _classed_rows(lines: Sequence[str]) -> list[tuple[str | None, str]]:
    """Each non-empty text row with the language its ``<c.xx>`` span gives, if any."""
    out: list[tuple[str | None, str]] = []
    current: str | None = None  # a span may run over several rows
    for line in lines:
        opened = _CLASS_OPEN.search(line)
        if opened:
            classes = opened.group(1).split(".")
            current = next((c for c in classes if c in ("ru", "en")), current)
        row = " ".join(html.unescape(_TAG.sub("", line)).split())
        if row:
            out.append((current, row))
        if "</c>" in line:
            current = None
    return out


def escape(row: str) -> str:
    return row.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
