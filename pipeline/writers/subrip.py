"""SubRip (.srt): Russian rows above English rows, English in italics."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path

import srt

from pipeline.errors import SubtitleError
from pipeline.types import Cue
from pipeline.writers._common import clean_rows, ms, normalise_languages, unmarked_language

EXTENSION = "srt"
_TAG = re.compile(r"</?[ibu]>|\{\\[^}]*\}")


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
    text = text.lstrip("\ufeff")
    try:
        subs = list(srt.parse(text))
    except (srt.SRTParseError, ValueError) as exc:
        raise SubtitleError(source, f"not a valid SRT file: {exc}") from exc
    langs = normalise_languages(languages) if languages is not None else None
    blocks = [[row.strip() for row in sub.content.split("\n") if row.strip()] for sub in subs]
    marks = [_italic_rows(rows) for rows in blocks]
    plain = unmarked_language(text, langs, any(any(m) for m in marks))
    cues = []
    for sub, rows, marked in zip(subs, blocks, marks):
        ru: list[str] = []
        en: list[str] = []
        for row, italic in zip(rows, marked):
            lang = langs[0] if langs is not None and len(langs) == 1 else ("en" if italic else plain)
            (en if lang == "en" else ru).append(_TAG.sub("", row).strip())
        start, end = sub.start.total_seconds(), sub.end.total_seconds()
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


compose = compose_srt
parse = parse_srt
