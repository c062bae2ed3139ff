"""Pieces the subtitle formats share: language choice, timestamps, and reading rows back into cues."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.alphabet import has_cyrillic, has_latin, word_counts
from pipeline.types import Cue

LANGUAGES = ("ru", "en")
# A file whose rows of the other alphabet are this rare is in one language:
# "OK" or "Facebook" alone on a row of a Russian film is Russian text.
_STRAY_SHARE = 0.05


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


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """Something a reader repaired or skipped; ``line_no`` is 1-based, 0 for the whole file.

    ``kind`` names a group of such warnings in the plural ("malformed
    timestamps"), so ``lint`` can say "366 malformed timestamps, first at
    line 12"; empty for one that is never grouped.
    """

    line_no: int
    message: str
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """A row of cue text as shown (tags removed), its line, and the language its markup gives.

    ``mark`` is "ru" or "en" for a WebVTT ``<c.ru>``/``<c.en>`` span, "i" for
    an SRT row in italics (subpipe's dual SRT marks English so), else ``None``.
    """

    line_no: int
    text: str
    mark: str | None = None


@dataclass(frozen=True, slots=True)
class RawCue:
    """A cue as read, before its rows are given languages; ``line_no`` is its timing line."""

    line_no: int
    start: float
    end: float
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a reader found: cues in file order (those without text too), and for each cue
    its timing line and its rows as ``(language, text)`` in their own order."""

    cues: tuple[Cue, ...]
    line_numbers: tuple[int, ...]
    rows: tuple[tuple[tuple[str, str], ...], ...]
    warnings: tuple[ReadWarning, ...]
    dropped: int = 0  # cues whose timing line could not be read


def to_cues(raw: Sequence[RawCue], languages: Iterable[str] | None) -> tuple[list[Cue], list[tuple]]:
    """Cues with each row in its language, and the rows in file order with their languages.

    ``languages`` as the writers take it: ``("ru",)`` or ``("en",)`` for a
    single-language file, ``("ru", "en")`` for subpipe's dual layout (marked
    rows English or as their span says, the rest Russian), ``None`` to tell:
    see :func:`row_languages`.
    """
    langs = normalise_languages(languages) if languages is not None else None
    if langs is not None and len(langs) == 1:
        chosen = [[langs[0]] * len(cue.rows) for cue in raw]
    elif langs is not None:
        chosen = [["en" if row.mark in ("en", "i") else "ru" for row in cue.rows] for cue in raw]
    else:
        chosen = row_languages(raw)
    cues, rows = [], []
    for cue, cue_langs in zip(raw, chosen):
        ru = tuple(row.text for row, lang in zip(cue.rows, cue_langs) if lang == "ru")
        en = tuple(row.text for row, lang in zip(cue.rows, cue_langs) if lang == "en")
        cues.append(Cue(start=cue.start, end=cue.end, ru=ru, en=en))
        rows.append(tuple(zip(cue_langs, (row.text for row in cue.rows))))
    return cues, rows


def row_languages(raw: Sequence[RawCue]) -> list[list[str]]:
    """The language of every row, told from the file itself.

    A ``<c.ru>``/``<c.en>`` span says it outright. Otherwise the file's rows
    decide what kind of file it is: nearly all Cyrillic is Russian, nearly
    all Latin is English, whatever a few rows hold. A file with both is dual:
    when its italic rows are Latin and its plain rows Cyrillic (subpipe's own
    dual SRT) italics mark English; otherwise a row with Cyrillic letters is
    Russian ("Новости GDPR") and one with only Latin letters English, and a
    row without letters ("...", "♪") goes with its neighbour.
    """
    scripts = {id(row): _script(row.text) for cue in raw for row in cue.rows}
    unmarked = [row for cue in raw for row in cue.rows if row.mark not in ("ru", "en")]
    counts = Counter(scripts[id(row)] for row in unmarked)
    main = "en" if counts["en"] > counts["ru"] else "ru"
    # A row with any Cyrillic cannot be English-only, nor one with any Latin Russian-only:
    # "GDPR и Facebook" in a Russian file is Russian text, however its words count.
    only_latin = sum(1 for row in unmarked if has_latin(row.text) and not has_cyrillic(row.text))
    only_cyrillic = sum(1 for row in unmarked if has_cyrillic(row.text) and not has_latin(row.text))
    with_letters = sum(1 for row in unmarked if scripts[id(row)] is not None)
    single: str | None = None
    if only_latin <= _STRAY_SHARE * with_letters and only_cyrillic <= _STRAY_SHARE * with_letters:
        single = main  # every row mixes the alphabets: go by the words
    elif only_latin <= _STRAY_SHARE * with_letters:
        single = "ru"
    elif only_cyrillic <= _STRAY_SHARE * with_letters:
        single = "en"
    by_italics = single is None and _italics_mark_english(unmarked, scripts)
    out = []
    for cue in raw:
        langs: list[str | None] = []
        for row in cue.rows:
            if row.mark in ("ru", "en"):
                langs.append(row.mark)
            elif single is not None:
                langs.append(single)
            elif by_italics:
                langs.append("en" if row.mark == "i" else "ru")
            elif has_cyrillic(row.text):
                langs.append("ru")  # an English row hardly ever holds Cyrillic; a Russian one Latin often
            else:
                langs.append("en" if has_latin(row.text) else None)
        out.append(_fill(langs, main))
    return out


def _script(text: str) -> str | None:
    """ "ru" or "en" by the alphabet most words are in; "mixed" on a tie; ``None`` without letters."""
    cyrillic, latin = word_counts(text)
    if cyrillic > latin:
        return "ru"
    if latin > cyrillic:
        return "en"
    return "mixed" if cyrillic else None


def _italics_mark_english(rows: Sequence[Row], scripts: dict[int, str | None]) -> bool:
    italic = Counter(scripts[id(r)] for r in rows if r.mark == "i")
    plain = Counter(scripts[id(r)] for r in rows if r.mark != "i")
    italic_n, plain_n = italic["ru"] + italic["en"], plain["ru"] + plain["en"]
    # Two thirds: a Russian row of brand names ("GDPR и Facebook") is mostly Latin.
    return bool(italic_n and plain_n) and 3 * italic["en"] >= 2 * italic_n and 3 * plain["ru"] >= 2 * plain_n


def _fill(langs: Sequence[str | None], main: str) -> list[str]:
    """Rows without a language of their own take the one before them in the cue, else after, else ``main``."""
    out = list(langs)
    for order in (range(len(out)), range(len(out) - 1, -1, -1)):
        last = None
        for k in order:
            if out[k] is None:
                out[k] = last
            else:
                last = out[k]
    return [lang or main for lang in out]
