"""WebVTT (.vtt): both languages as classed spans, styled by a STYLE block."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from pipeline.errors import SubtitleError
from pipeline.types import Cue
from pipeline.writers._common import clean_rows, ms, normalise_languages, unmarked_language

EXTENSION = "vtt"
STYLE = """STYLE
::cue(.ru) {
  color: #ffffff;
}
::cue(.en) {
  color: #ffe9a8;
  font-style: italic;
}"""
_TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t].*)?$")
_TIMESTAMP = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_CLASS_OPEN = re.compile(r"<c((?:\.[^\s.>]+)+)[^>]*>")
_TAG = re.compile(r"<[^>]*>")


def compose_vtt(cues: Sequence[Cue], languages: Iterable[str] = ("ru", "en")) -> str:
    """A WebVTT file; in a dual file each row is a ``<c.ru>`` or ``<c.en>`` span."""
    langs = normalise_languages(languages)
    dual = len(langs) == 2
    blocks = ["WEBVTT", STYLE] if dual else ["WEBVTT"]
    number = 0
    for cue in cues:
        rows = [
            f"<c.{lang}>{_escape(row)}</c>" if dual else _escape(row)
            for lang in langs
            for row in clean_rows(cue.ru if lang == "ru" else cue.en)
        ]
        if not rows:
            continue
        number += 1
        timing = f"{_timestamp(cue.start)} --> {_timestamp(cue.end)}"
        blocks.append("\n".join([str(number), timing, *rows]))
    return "\n\n".join(blocks) + "\n"


def parse_vtt(
    text: str, languages: Iterable[str] | None = None, *, source: str | Path | None = None
) -> list[Cue]:
    """Cues from a WebVTT file; ``languages`` as given to :func:`compose_vtt`, or ``None`` to guess.

    Rows in a ``.en`` span are English and ``.ru`` Russian; unclassed rows
    belong to the file's single language. Identifiers, NOTE, STYLE and REGION
    blocks and cue settings are skipped.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    blocks = [b for b in re.split(r"\n(?:[ \t]*\n)+", text.strip("\n")) if b.strip()]
    if not blocks or not re.match(r"^WEBVTT(?:[ \t].*)?$", blocks[0].split("\n")[0]):
        raise SubtitleError(source, "not a WebVTT file: the first line must be WEBVTT")
    langs = normalise_languages(languages) if languages is not None else None
    raw: list[tuple[float, float, list[tuple[str | None, str]]]] = []
    for block in blocks[1:]:
        lines = block.split("\n")
        if lines[0].split(maxsplit=1)[0] in ("NOTE", "STYLE", "REGION"):
            continue
        at = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        match = _TIMING.match(lines[at].strip()) if at is not None else None
        if match is None:
            raise SubtitleError(source, f"WebVTT block without a valid timing line: {lines[0]!r}")
        start, end = _seconds(match.group(1), source), _seconds(match.group(2), source)
        raw.append((start, end, _classed_rows(lines[at + 1 :])))
    any_classed = any(lang is not None for _, _, rows in raw for lang, _ in rows)
    plain = unmarked_language(text, langs, any_classed)
    cues = []
    for start, end, rows in raw:
        ru: list[str] = []
        en: list[str] = []
        for lang, row in rows:
            if langs is not None and len(langs) == 1:
                lang = langs[0]
            (en if (lang or plain) == "en" else ru).append(row)
        cues.append(Cue(start=start, end=end, ru=tuple(ru), en=tuple(en)))
    return cues


def _classed_rows(lines: Sequence[str]) -> list[tuple[str | None, str]]:
    """Each non-empty text row with the language its ``<c.xx>`` span gives, if any."""
    out: list[tuple[str | None, str]] = []
    current: str | None = None  # a span may run over several rows
    for line in lines:
        opened = _CLASS_OPEN.search(line)
        if opened:
            classes = opened.group(1).split(".")
            current = next((c for c in classes if c in ("ru", "en")), current)
        row = html.unescape(_TAG.sub("", line)).strip()
        if row:
            out.append((current, row))
        if "</c>" in line:
            current = None
    return out


def _escape(row: str) -> str:
    return row.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _timestamp(seconds: float) -> str:
    total = ms(seconds)
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _seconds(stamp: str, source: str | Path | None) -> float:
    match = _TIMESTAMP.match(stamp)
    if match is None:
        raise SubtitleError(source, f"bad WebVTT timestamp {stamp!r}")
    hours, minutes, secs, millis = (int(g) if g else 0 for g in match.groups())
    return (hours * 3_600_000 + minutes * 60_000 + secs * 1000 + millis) / 1000


compose = compose_vtt
parse = parse_vtt
