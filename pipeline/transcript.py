"""Read a Russian/English transcript into ``Line`` entries, and write one back.

Pure functions, in the manner of the ``srt`` library: ``decode`` turns bytes
into text, ``parse`` turns text into lines, ``read`` does both for a file, and
``compose`` is the inverse of ``parse``.

Three layouts are understood, detected from the text itself:

* ``tsv``: most rows hold a TAB; each row is ``russian<TAB>english``.
* ``bilingual``: a Russian line followed by its English line, entries and
  languages separated by any number of blank lines.
* ``plain``: Russian only, one entry per non-empty row.

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
from pathlib import Path

from pipeline.errors import TranscriptError
from pipeline.fileio import check_input
from pipeline.types import Line

__all__ = ["LAYOUTS", "MAX_BYTES", "MAX_ROWS", "compose", "decode", "parse", "read"]

LAYOUTS = ("bilingual", "tsv", "plain")

# A real episode transcript is well under 1 MB; anything this large is almost
# certainly the wrong file (an audio file or a log), and reading it whole
# would only waste memory before failing.
MAX_BYTES = 50 * 1024 * 1024
# Six hours of speech (the longest audio subpipe takes) fill about 15,000 rows;
# a file with far more is another kind of file, and aligning it would take
# minutes and gigabytes before saying that nothing matches.
MAX_ROWS = 100_000

_CYRILLIC = "\u0400-\u0481\u048a-\u052f\u1c80-\u1c88\u2de0-\u2dff\ua640-\ua69f"
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_CYRILLIC_RE = re.compile(f"[{_CYRILLIC}]")
_LATIN_RE = re.compile(f"[{_LATIN}]")
_CYRILLIC_UPPER_RE = re.compile("[\u0400-\u042f]")
_CYRILLIC_LOWER_RE = re.compile("[\u0430-\u045f]")
# Tab, newline, CR, form feed and vertical tab turn up in genuine text (Word
# writes VT for a soft line break); every other C0/C1 control points to binary.
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_WORD_RE = re.compile(r"\S+")
# An SRT or WebVTT timing line: "00:01:08,460 --> 00:01:10,000" (WebVTT: a dot, hours optional).
_TIMING_RE = re.compile(r"^(?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3}\s*-->\s*(?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3}")
_SUBTITLE_SUFFIXES = {".srt": "SubRip (.srt)", ".vtt": "WebVTT"}

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

    Accepts UTF-8 (with or without BOM) and Windows-1251. Raises
    ``TranscriptError`` for UTF-16/32, binary data, and bytes that only decode
    as Windows-1251 by accident (KOI8-R, Latin-1, ...).
    """
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise TranscriptError(path, "is UTF-32 text; save it as UTF-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TranscriptError(path, "is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise TranscriptError(path, _nul_problem(data))

    try:
        text = data.decode("utf-8-sig")
        from_cp1251 = False
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            # Python leaves 0x98 undefined in cp1251, so such bytes come from
            # some other single-byte code page.
            raise TranscriptError(path, "is neither UTF-8 nor Windows-1251 text; save it as UTF-8") from None
        from_cp1251 = True

    controls = len(_CONTROL_RE.findall(text))
    # A stray control character or two survives copy-and-paste; a percent of
    # them means the file is not text at all.
    if controls and controls * 100 > len(text):
        raise TranscriptError(path, "contains binary data, not text; give the transcript's .txt or .tsv file")
    if from_cp1251 and not _plausible_cp1251(text):
        raise TranscriptError(
            path,
            "unknown text encoding: not UTF-8, and read as Windows-1251 it does not look like "
            "Russian text (KOI8-R or Latin-1?); save it as UTF-8",
        )
    return _normalize_newlines(text)


def _nul_problem(data: bytes) -> str:
    """Describe a file containing NUL bytes: BOM-less UTF-16/32, or binary."""
    # UTF-16/32 text puts its NULs (the high bytes of ASCII characters) in
    # fixed positions; binary junk scatters them.
    by_mod4 = [data[offset::4].count(0) for offset in range(4)]
    total = sum(by_mod4)
    quarter = len(data) // 4
    if total >= 4:
        # Outside the rare astral planes, UTF-32 has two NULs in every
        # character: bytes 2-3 (little-endian) or bytes 0-1 (big-endian).
        if len(data) % 4 == 0 and any(
            by_mod4[a] >= 0.9 * quarter and by_mod4[b] >= 0.9 * quarter for a, b in ((2, 3), (0, 1))
        ):
            return "is UTF-32 text; save it as UTF-8"
        even, odd = by_mod4[0] + by_mod4[2], by_mod4[1] + by_mod4[3]
        # NULs on one side are the high bytes of UTF-16's ASCII characters
        # (even offsets big-endian, odd little-endian); binary data laid out
        # in regular records can look the same, but does not decode as text.
        codec = "utf-16-be" if even >= odd else "utf-16-le"
        if max(even, odd) >= 0.9 * total and _reads_as_text(data[: len(data) // 2 * 2], codec):
            return "is UTF-16 text; save it as UTF-8"
    return "contains NUL bytes, so it is a binary file, not text; give the transcript's .txt or .tsv file"


def _reads_as_text(data: bytes, codec: str) -> bool:
    """Whether ``data`` decodes strictly as ``codec`` into text with hardly a control character."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return False
    return len(_CONTROL_RE.findall(text)) * 100 <= len(text)


def _plausible_cp1251(text: str) -> bool:
    """Whether text decoded as cp1251 reads like Russian rather than mojibake.

    Russian prose is mostly lower case. KOI8-R swaps the case blocks of
    Windows-1251, so KOI8-R read as cp1251 comes out mostly capitals; Latin-1
    accents come out as lone Cyrillic letters stuck inside Latin words. A
    genuine all-capitals file is refused too, which costs its owner only a
    re-save as UTF-8.
    """
    upper = len(_CYRILLIC_UPPER_RE.findall(text))
    lower = len(_CYRILLIC_LOWER_RE.findall(text))
    if upper + lower == 0:
        # Nothing Cyrillic, so every high byte became punctuation or a symbol:
        # leave the verdict to parse, which needs letters anyway.
        return True
    if upper > lower:
        return False
    cyrillic_words = mixed_words = 0
    for word in _WORD_RE.findall(text):
        if _CYRILLIC_RE.search(word):
            cyrillic_words += 1
            if _LATIN_RE.search(word):
                mixed_words += 1
    return mixed_words * 2 <= cyrillic_words


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


def read(path: str | Path) -> list[Line]:
    """The transcript file at ``path`` as lines, in file order.

    Reads the bilingual layout (a Russian line, then its English line), TSV
    (``ru<TAB>en``) or plain Russian text, in UTF-8 (BOM or not, CRLF or not)
    or Windows-1251. Raises ``InputNotFound`` (exit 3) for a missing file and
    ``TranscriptError`` (exit 4) for one that cannot be read as a transcript:
    a subtitle file, one without Russian, one that lists each English line
    before its Russian one.
    """
    path = Path(path)
    check_input(path, "transcript", TranscriptError, MAX_BYTES)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranscriptError(path, _unreadable(exc)) from exc
    text = decode(data, path)
    kind = subtitle_format(path, text)
    if kind is not None:
        # Read as text, its cue numbers and timestamps would become lines to align.
        # (Where subtitle files become transcripts of their own, this dispatches to their reader.)
        raise TranscriptError(
            path,
            f"is a {kind} subtitle file (cue numbers and timestamps), not a transcript; "
            "give the transcript: each Russian line followed by its English one, or Russian<TAB>English",
        )
    lines = parse(text, path)
    check_languages(lines, path)
    return lines


def subtitle_format(path: str | Path, text: str) -> str | None:
    """The subtitle format of a transcript file ("SubRip (.srt)", "WebVTT"), or None for a transcript.

    Told by the file's name, a WEBVTT header, or timing lines
    (``00:01:08,460 --> ...``) in a fifth of its first rows: a subtitle cue
    takes three or four rows, one of them its timing.
    """
    named = _SUBTITLE_SUFFIXES.get(Path(path).suffix.lower())
    if named is not None:
        return named
    if text.lstrip("\ufeff \t\n")[:6].upper() == "WEBVTT":
        return "WebVTT"
    rows = [row.strip() for row in text[:20_000].split("\n") if row.strip()]
    timed = [row for row in rows if _TIMING_RE.match(row)]
    if len(timed) >= 2 and len(timed) * 5 >= len(rows):
        return "SubRip (.srt)" if "," in timed[0].split("-->")[0] else "WebVTT"
    return None


def check_languages(lines: Sequence[Line], path: str | Path | None = None) -> None:
    """Raise ``TranscriptError`` for lines a run cannot use: no Russian at all, or English before Russian.

    The Russian side is what the audio is aligned to, so a transcript without
    Cyrillic would place English words in Russian speech. A bilingual file
    that puts each English line before its Russian one parses one pair off
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
    if _english_first(lines):
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
