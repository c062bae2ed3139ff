"""Read a Russian/English transcript into ``Line`` entries, and write one back.

Pure functions, in the manner of the ``srt`` library: ``decode`` turns bytes
into text, ``parse`` turns text into lines, ``read`` does both for a file, and
``compose`` is the inverse of ``parse``.

Three layouts are understood, detected from the text itself:

* ``tsv``: most rows hold a TAB; each row is ``russian<TAB>english``.
* ``bilingual``: a Russian line followed by its English line, entries and
  languages separated by any number of blank lines.
* ``plain``: Russian only, one entry per non-empty row.

An SRT or WebVTT file is a transcript too: each cue with text is a line, its
rows split into Russian and English by alphabet
(:mod:`pipeline.subtitles.as_transcript`).

Blank lines carry no meaning in the bilingual layout; script and position
do. A line of Cyrillic opens an entry; a line of Latin completes the open
entry, or else stands alone as English without Russian. A line mixing both
scripts is English when it completes an open entry and starts with a Latin
word or has at least a quarter Latin words, or, elsewhere, when most of its
words are Latin; otherwise it is Russian.

Lines are kept exactly as written apart from surrounding whitespace: the
aligner normalises case and homoglyphs for matching, but subtitles must show
the transcript's own spelling.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import encoding
from pipeline.alphabet import CYRILLIC, LATIN
from pipeline.errors import TranscriptError
from pipeline.fileio import check_input
from pipeline.types import Line

__all__ = ["LAYOUTS", "MAX_BYTES", "MAX_ROWS", "Source", "compose", "decode", "parse", "read", "read_source"]

LAYOUTS = ("bilingual", "tsv", "plain")

# A real episode transcript is well under 1 MB; anything this large is almost
# certainly the wrong file (an audio file or a log), and reading it whole
# would only waste memory before failing.
MAX_BYTES = 50 * 1024 * 1024
# Six hours of speech (the longest audio subpipe takes) fill about 15,000 rows;
# a file with far more is another kind of file, and aligning it would take
# minutes and gigabytes before saying that nothing matches.
MAX_ROWS = 100_000

_CYRILLIC_RE = re.compile(f"[{CYRILLIC}]")
_LATIN_RE = re.compile(f"[{LATIN}]")
_WORD_RE = re.compile(r"\S+")
_NEWLINE_RE = re.compile(r"\r\n|\n|\r")

_RU, _EN, _MIXED, _NONE = "ru", "en", "mixed", "none"

# Share of Latin words that makes a mixed line the English translation of the
# unpaired Russian line before it. The seed's "It просто не существует.
# That's all." has 3/6. Its Russian lines with brand names reach the share too
# ("наше государственное общество, GDPR," has 1/4), which is harmless because
# each follows a line that is already paired: there a translation is not
# expected, and a mixed line needs a Latin majority to count as English.
_EN_SHARE_AFTER_RU = 0.25


# ---------------------------------------------------------------- decoding


def decode(data: bytes, path: str | Path | None = None) -> str:
    """Return the text of a transcript file, with line endings turned into "\\n".

    The encoding is detected as for subtitle files (:mod:`pipeline.encoding`):
    a byte-order mark, UTF-16/32 by their NUL bytes, UTF-8, else the legacy
    code page whose reading looks most like text (Windows-1251, KOI8-R,
    Windows-1252, ...). Raises ``TranscriptError`` for binary data and for
    bytes no known encoding reads as text.
    """
    return _decoded(data, path).text


def _decoded(data: bytes, path: str | Path | None) -> encoding.Decoded:
    return encoding.decode(data, path, TranscriptError, binary_hint="give the transcript's .txt or .tsv file")


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------- parsing


def parse(text: str, path: str | Path | None = None) -> list[Line]:
    """Split transcript text into ``Line`` entries, detecting the layout.

    ``path`` is used only in error messages. Raises ``TranscriptError`` when
    the text holds no Russian or English letters at all, or has more than
    ``MAX_ROWS`` non-empty rows.
    """
    text = _normalize_newlines(text.removeprefix("\ufeff"))
    raw_rows = text.split("\n")
    rows = [(number, stripped) for number, row in enumerate(raw_rows, start=1) if (stripped := row.strip())]
    if not rows:
        raise TranscriptError(path, "transcript is empty; give the episode's transcript file")
    if len(rows) > MAX_ROWS:
        raise TranscriptError(
            path,
            f"has {len(rows):,} non-empty lines, more than any episode's transcript "
            f"({MAX_ROWS:,} limit); check that this is the right file",
        )
    if not any(_CYRILLIC_RE.search(row) or _LATIN_RE.search(row) for _, row in rows):
        raise TranscriptError(
            path,
            "transcript has no Russian or English text (no letters at all); "
            "check that this is the episode's transcript",
        )

    if _is_tsv([raw_rows[number - 1] for number, _ in rows]):
        return _parse_tsv(raw_rows, rows, path)
    # The file is bilingual when some line reads as English on its own, i.e.
    # without the help of a Russian line before it waiting for a translation.
    # Mixed lines that are mostly Russian ("Facebook заблокировал доступ")
    # occur in Russian-only transcripts and must not make one look bilingual.
    if any(_is_english(row, after_open_ru=False) for _, row in rows):
        return _parse_bilingual(rows)
    return [Line(index, row, "", number) for index, (number, row) in enumerate(rows)]


def _is_tsv(rows: list[str]) -> bool:
    """Whether most non-empty rows hold a TAB that separates columns."""
    with_tab = sum(1 for row in rows if "\t" in row)
    if with_tab * 2 <= len(rows):
        return False
    # Tabs that only ever open a row, in a file where other rows have none,
    # are indentation (English lines indented under their Russian ones), not
    # an empty Russian column: a TSV writer puts a TAB in every row.
    indentation_only = all("\t" not in row.lstrip() for row in rows)
    return not (indentation_only and with_tab < len(rows))


def _parse_tsv(raw_rows: list[str], rows: list[tuple[int, str]], path: str | Path | None) -> list[Line]:
    lines: list[Line] = []
    for number, stripped in rows:
        # Split the unstripped row: stripping first would eat the TAB of a
        # row with an empty Russian side ("\tThank you.").
        fields = [field.strip() for field in raw_rows[number - 1].split("\t")]
        # Spreadsheets pad rows with empty trailing columns.
        while len(fields) > 2 and not fields[-1]:
            fields.pop()
        if len(fields) > 2:
            raise TranscriptError(
                path,
                f"has {len(fields)} tab-separated fields; expected 'Russian<TAB>English'",
                number,
            )
        if len(fields) == 1:
            # A row without a TAB in a TSV file: keep it, on the side its
            # script says, rather than drop text the user wrote.
            ru, en = ("", stripped) if _script(stripped) == _EN else (stripped, "")
        else:
            ru, en = fields
        lines.append(Line(len(lines), ru, en, number))
    return lines


def _parse_bilingual(rows: list[tuple[int, str]]) -> list[Line]:
    entries: list[tuple[str, str, int]] = []
    # Index of the entry whose Russian line still waits for its English one.
    open_ru: int | None = None
    for number, row in rows:
        if not _is_english(row, after_open_ru=open_ru is not None):
            open_ru = len(entries)
            entries.append((row, "", number))
        elif open_ru is not None:
            ru, _, ru_number = entries[open_ru]
            entries[open_ru] = (ru, row, ru_number)
            open_ru = None
        else:
            entries.append(("", row, number))
    return [Line(index, ru, en, number) for index, (ru, en, number) in enumerate(entries)]


def _script(row: str) -> str:
    has_cyrillic = _CYRILLIC_RE.search(row) is not None
    has_latin = _LATIN_RE.search(row) is not None
    if has_cyrillic and has_latin:
        return _MIXED
    if has_cyrillic:
        return _RU
    if has_latin:
        return _EN
    return _NONE


def _is_english(row: str, after_open_ru: bool) -> bool:
    """Whether a row of a bilingual transcript is an English line.

    The position matters as much as the script: right after a Russian line
    that has no translation yet, an English line is expected, so a mixed
    line qualifies on weaker evidence there than anywhere else.
    """
    script = _script(row)
    if script == _EN:
        return True
    if script == _RU:
        return False
    if script == _NONE:
        # Digits and punctuation ("2021", "...") read the same in both
        # languages: they translate a Russian line waiting for one, and
        # otherwise start an entry of their own on the Russian side.
        return after_open_ru
    latin_words = cyrillic_words = 0
    first: str | None = None
    for word in _WORD_RE.findall(row):
        n_latin = len(_LATIN_RE.findall(word))
        n_cyrillic = len(_CYRILLIC_RE.findall(word))
        if not n_latin and not n_cyrillic:
            continue
        # A word counts for the script most of its letters are in, so a
        # homoglyph ("повесткa" with a Latin "a") does not make it Latin.
        is_latin = n_latin > n_cyrillic
        latin_words += is_latin
        cyrillic_words += not is_latin
        if first is None:
            first = _EN if is_latin else _RU
    share = latin_words / (latin_words + cyrillic_words)
    if after_open_ru:
        return first == _EN or share >= _EN_SHARE_AFTER_RU
    # Elsewhere, a mixed line is English only when Latin words dominate, e.g.
    # an untranslated Russian title inside an English-only line.
    return share > 0.5


# ---------------------------------------------------------------- files


def read(path: str | Path, english: str | Path | None = None) -> list[Line]:
    """The transcript file at ``path`` as lines, in file order.

    Reads the bilingual layout (a Russian line, then its English line), TSV
    (``ru<TAB>en``), plain Russian text, or an SRT or WebVTT file (see
    :func:`_subtitle_lines`; ``english`` pairs an English one with it), in any
    encoding :func:`decode` tells. Raises ``InputNotFound`` (exit 3) for a
    missing file and ``TranscriptError`` (exit 4) for one that cannot be read
    as a transcript, has no Russian, or lists each English line before its
    Russian one (``SubtitleError``, exit 8, for subtitles without cues).
    """
    return list(read_source(path, english).lines)


@dataclass(frozen=True, slots=True)
class Source:
    """A transcript as read, with what a change to the file must keep: its bytes, the encoding it
    was read in, its line ending, and whether it is a subtitle file. Each line's ``source_line``
    is the 1-based row of the file it starts on, rows ending at a CR LF, an LF or a lone CR."""

    path: Path
    lines: tuple[Line, ...]
    data: bytes
    encoding: str  # the Python codec the file was read with
    newline: str  # "\r\n", "\n" or "\r" (the first one in the file; "" for a file of one row)
    subtitles: bool = False  # an SRT or WebVTT file: its cues became the lines
    replaced: int = 0  # bytes no encoding could read, shown as U+FFFD


def read_source(path: str | Path, english: str | Path | None = None) -> Source:
    """:func:`read`, keeping what was found on the way (:class:`Source`)."""
    path = Path(path)
    check_input(path, "transcript", TranscriptError, MAX_BYTES)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranscriptError(path, _unreadable(exc)) from exc
    decoded = _decoded(data, path)
    text = decoded.text
    lines = _subtitle_lines(path, text, english)
    found = _NEWLINE_RE.search(text)
    newline = found.group(0) if found else ""
    subtitles = lines is not None
    if lines is None:
        lines = parse(text, path)
        check_languages(lines, path, bilingual=True)
    else:
        check_languages(lines, path, bilingual=False)  # cues pair their rows themselves
    return Source(path, tuple(lines), data, decoded.encoding, newline, subtitles, decoded.replaced)


def _subtitle_lines(path: Path, text: str, english: str | Path | None) -> list[Line] | None:
    """An SRT or WebVTT file's cues as transcript lines, or ``None`` for any other transcript.

    ``english`` (``--en``) names an English subtitle file, paired with the
    cues by time; only a subtitle transcript takes one.
    """
    from pipeline.subtitles.as_transcript import is_subtitles, read_lines

    if is_subtitles(path, text):
        return list(read_lines(text, path, english).lines)
    if english is not None:
        raise TranscriptError(
            path, "is not a subtitle file; --en pairs an English subtitle file with SRT or WebVTT subtitles"
        )
    return None


def check_languages(lines: Sequence[Line], path: str | Path | None = None, bilingual: bool = True) -> None:
    """Raise ``TranscriptError`` for lines a run cannot use: no Russian at all, or English before Russian.

    The Russian side is what the audio is aligned to, so a transcript without
    Cyrillic would place English words in Russian speech. A ``bilingual``
    text file that puts each English line before its Russian one parses one pair off
    (every Russian line takes the next one's English): it is told by its shape
    (English alone first, Russian alone last, pairs between) and by line
    lengths, which follow each other in true pairs (correlation 0.87 on the
    sample, -0.07 one pair off).
    """
    if not any(_CYRILLIC_RE.search(line.ru) for line in lines):
        english = sum(1 for line in lines if _LATIN_RE.search(line.en or line.ru))
        found = f"all its {len(lines)} lines are English" if english == len(lines) else "no line is Russian"
        raise TranscriptError(
            path,
            f"has no Russian: {found}; expected the Russian lines the audio speaks, "
            "each followed by its English translation",
        )
    if bilingual and _english_first(lines):
        raise TranscriptError(
            path,
            f"puts each English line before its Russian one (line {lines[0].source_line} is English, "
            f"line {lines[-1].source_line} Russian), so every Russian line would get the next English "
            "line; put each Russian line first, then its English",
        )


def _english_first(lines: Sequence[Line]) -> bool:
    if len(lines) < 5 or lines[0].ru or not lines[-1].ru or lines[-1].en:  # 3 pairs at least
        return False
    if not all(line.ru and line.en for line in lines[1:-1]):
        return False
    russian = [len(line.ru) for line in lines[1:]]
    as_parsed = [len(line.en) for line in lines[1:-1]]
    english_first = [len(line.en) for line in lines[:-1]]
    try:
        return statistics.correlation(russian, english_first) > statistics.correlation(
            russian[:-1], as_parsed
        )
    except statistics.StatisticsError:  # lines all of one length: no evidence either way
        return False


def _unreadable(exc: OSError) -> str:
    return f"cannot be read ({exc.strerror or exc}); check the file's permissions"


# ---------------------------------------------------------------- writing


def compose(lines: Iterable[Line], layout: str = "bilingual") -> str:
    """Write lines as transcript text that ``parse`` reads back.

    ``layout`` is "bilingual", "tsv" or "plain" (Russian only: English is
    dropped, and entries without Russian are skipped). Raises ``ValueError``
    for a field holding a line break (or a TAB, in TSV), and for a
    Russian-only entry directly followed by an English-only one in the
    bilingual layout, which would read back as one pair.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    rows: list[str] = []
    previous_ru_only = False
    for line in lines:
        for field in (line.ru, line.en):
            if "\n" in field or "\r" in field or (layout == "tsv" and "\t" in field):
                raise ValueError(f"line {line.index}: field {field!r} cannot be written as {layout}")
        if layout == "tsv":
            rows.append(f"{line.ru}\t{line.en}")
        elif layout == "plain":
            if line.ru:
                rows.append(line.ru)
        else:
            if previous_ru_only and not line.ru and line.en:
                raise ValueError(
                    f"line {line.index}: an English-only line right after a Russian-only line "
                    "would read back as its translation; use the tsv layout"
                )
            rows.extend(field for field in (line.ru, line.en) if field)
            previous_ru_only = bool(line.ru) and not line.en
    if not rows:
        return ""
    if layout == "bilingual":
        return "\n\n".join(rows) + "\n"
    return "\n".join(rows) + "\n"
