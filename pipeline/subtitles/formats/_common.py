"""Pieces the subtitle formats share: language choice and reading rows back into cues."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

LANGUAGES = ("ru", "en")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def normalise_languages(languages: Iterable[str]) -> tuple[str, ...]:
    """The requested languages in display order (Russian above English); ``"en"`` means ``("en",)``."""
    wanted = {languages} if isinstance(languages, str) else set(languages)
    unknown = wanted - set(LANGUAGES)
    if unknown or not wanted:
        raise ValueError(f"languages must be a non-empty subset of {LANGUAGES}, got {sorted(wanted)}")
    return tuple(lang for lang in LANGUAGES if lang in wanted)


def clean_rows(rows: Sequence[str]) -> tuple[str, ...]:
    """Rows as one line each, without blanks: a stray newline would end the cue early."""
    return tuple(row for row in (" ".join(r.split()) for r in rows) if row)


def unmarked_language(text: str, languages: Sequence[str] | None, any_marked: bool) -> str:
    """The language of rows that carry no English marker.

    With ``languages`` given, a single-language file holds only that language.
    Otherwise: beside marked (English) rows the rest are Russian, and a file
    with no markers is Russian unless it holds no Cyrillic at all.
    """
    if languages is not None:
        chosen = normalise_languages(languages)
        return chosen[0] if len(chosen) == 1 else "ru"
    if any_marked or _CYRILLIC.search(text):
        return "ru"
    return "en"


def ms(seconds: float) -> int:
    """Milliseconds, the resolution both SRT and WebVTT keep."""
    return round(seconds * 1000)


def timestamp(seconds: float, mark: str = ".") -> str:
    """``HH:MM:SS.mmm`` (WebVTT; ``mark=","`` for SRT); a negative time keeps its sign, for messages."""
    total = ms(seconds)
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{sign}{hours:02d}:{minutes:02d}:{rest // 1000:02d}{mark}{rest % 1000:03d}"
