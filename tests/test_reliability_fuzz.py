"""Fuzzing the readers of what producers hand in: transcripts, and SRT/WebVTT subtitles.

The transcript parser must never crash and never drop a non-empty row, for
any script, mixed scripts and blank-line runs (tests/test_transcript.py has
the round trips and the basic properties; these widen the alphabet). The
subtitle readers must return cues or raise SubtitleError, never anything else,
for arbitrary text, arbitrary bytes and mutated real files.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import transcript
from pipeline.errors import SubtitleError, TranscriptError
from pipeline.subtitles.formats import compose_srt, compose_vtt, parse_srt, parse_vtt, read_subtitles
from pipeline.subtitles.formats.subrip import read_srt
from pipeline.transcript import decode, parse
from pipeline.types import Cue

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- transcripts

# Scripts and characters that turn up in real transcripts, and some that only
# turn up when something went wrong: Ukrainian and Serbian letters, accented
# Latin, Greek, Armenian, Hebrew, Arabic, CJK, emoji (outside the BMP),
# combining accents, zero-width and bidi marks, odd spaces, the soft hyphen.
LETTERS = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ іїєґ ђћџ ѣѳѵ "
    "abcxyz ABCXYZ éàüñçøßœ ĳŀ ǆ ẞ αβγΩ աբգ אבג عربي 漢字かな 한글 😀🎙️👍🏽 "
    "\u0301\u0306\u200b\u200c\u200d\u200e\u200f\u2060\u00a0\u2009\u3000\u00ad\ufeff "
    "0123456789 .,;:!?…—–-«»„“”'\"()[]{}<>/\\|@#%&*+=~^_`$€₽"
)
row_text = st.text(st.sampled_from(LETTERS), max_size=40)
# Rows hold no TAB of their own (TSV has its round trip in test_transcript.py);
# the whitespace runs below put TABs in front of rows, as indentation.
any_row = st.text(st.characters(exclude_characters="\t\n\r", exclude_categories=("Cs",)), max_size=30)
# Blank-line runs: nothing, or whitespace str.strip() removes, between line breaks of every kind.
blank = st.text(st.sampled_from(" \t\x0b\x0c\u00a0\u2028\u3000\x85"), max_size=4)
breaks = st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=6)


@st.composite
def transcripts(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 25))):
        parts.append(draw(st.one_of(row_text, row_text, any_row)))
        parts.append("".join(brk + draw(blank) for brk in draw(breaks)))
    return "".join(parts)


def _rows(text: str) -> list[tuple[int, str]]:
    rows = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [(number, row.strip()) for number, row in enumerate(rows, start=1) if row.strip()]


def _has_letters(text: str) -> bool:
    return bool(transcript._CYRILLIC_RE.search(text) or transcript._LATIN_RE.search(text))


@FUZZ
@given(transcripts())
def test_parse_keeps_every_row_of_any_script_in_order(text: str) -> None:
    rows = _rows(text)
    try:
        lines = parse(text)
    except TranscriptError as exc:
        # Refused only when it holds no text, or as TSV whose rows have more
        # than two fields (all rows indented by two TABs): both said clearly.
        tsv = "tab-separated fields" in exc.problem and exc.line_no is not None
        assert not rows or not _has_letters(text) or tsv, exc.message
        return
    fields = [(line.source_line, field) for line in lines for field in (line.ru, line.en) if field]
    # Each non-empty row is one field, in order, exactly as written (stripped).
    assert [field for _, field in fields] == [row for _, row in rows]
    numbers = dict(rows)
    for line in lines:
        assert numbers[line.source_line] == (line.ru or line.en)


@FUZZ
@given(st.binary(max_size=3000))
def test_decode_takes_any_bytes(data: bytes) -> None:
    try:
        text = decode(data)
    except TranscriptError as exc:
        assert exc.problem and "\n" not in exc.problem
        return
    assert "\r" not in text


text_without_controls = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t"), min_size=1, max_size=300
)


@FUZZ
@given(text_without_controls)
def test_a_bom_and_windows_line_ends_change_nothing(text: str) -> None:
    exported = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    try:
        expected = parse(text)
    except TranscriptError as exc:
        with pytest.raises(TranscriptError) as again:
            parse(decode(exported))
        assert again.value.problem == exc.problem
        return
    assert parse(decode(exported)) == expected


# ---------------------------------------------------------------- subtitles

REAL_CUES = [
    Cue(0.88, 3.84, ("Начали проводить публичные мероприятия,",), ("They started to hold public events,",)),
    Cue(4.8, 7.04, ("давать множество интервью в СМИ,",), ("give numerous interviews to the media,",)),
    Cue(
        7.73,
        13.26,
        ("рассказывать, насколько важны", "эти поправки"),
        ("to explain how important", "they are"),
    ),
    Cue(13.99, 16.427, ("Только русский & <тег>.",), ()),
    Cue(16.5, 3601.25, (), ("Only English — “quoted”.",)),
]
REAL_FILES = [
    compose_srt(REAL_CUES),
    compose_srt(REAL_CUES, languages=("ru",)),
    compose_vtt(REAL_CUES),
    compose_vtt(REAL_CUES, layout="stacked"),
    compose_vtt(REAL_CUES, languages=("en",)),
]
LANGUAGES = st.sampled_from([None, ("ru",), ("en",), ("ru", "en")])
# Pieces that matter to the readers: timing syntax, tags, headers, entities.
PIECES = st.sampled_from(
    [
        "\n", "\n\n", "\r\n", " ", "-->", "->", "—>", ":", ",", ".", ";", "0", "9", "59", "60", "99",
        "00:00:01,000", "00:00:02.500", "1:2:3", "WEBVTT", "WEBVTT\n\n", "NOTE ", "STYLE\n", "REGION\n",
        "<i>", "</i>", "<c.ru>", "<c.en>", "</c>", "<b>", "{\\an8}", "&amp;", "&lt;", "&", "<", ">",
        "line:0", " align:start", "\ufeff", "\t", "Привет", "Hello", "1", "2", "\x00",
    ]
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real file with a few cuts, insertions, duplications and swaps of lines."""
    text = draw(st.sampled_from(REAL_FILES))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["cut", "insert", "copy", "swap"]))
        at = draw(st.integers(0, len(text)))
        if op == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 30)) :]
        elif op == "insert":
            text = text[:at] + draw(PIECES) + text[at:]
        elif op == "copy":
            start = draw(st.integers(0, len(text)))
            text = text[:at] + text[start : start + draw(st.integers(1, 80))] + text[at:]
        else:
            rows = text.split("\n")
            i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
            text = "\n".join(rows)
    return text


# Timing lines built from numbers of any length (test_huge_timestamp_numbers covers longer).
number = st.one_of(st.integers(0, 99).map(str), st.integers(1, 300).map(lambda n: "9" * n))
timing = st.builds(
    lambda a, b, c, d, e, f, sep: f"{a}:{b}:{c}{sep}{d} --> {e}:{f}:00{sep}000",
    number, number, number, number, number, number, st.sampled_from([",", ".", ":"]),
)  # fmt: skip


def _read_both(text: str, languages: tuple[str, ...] | None) -> None:
    for reader in (parse_srt, parse_vtt):
        try:
            cues = reader(text, languages)
        except SubtitleError as exc:
            assert exc.problem and "\n" not in exc.message
            continue
        assert all(
            isinstance(cue, Cue) and math.isfinite(cue.start) and math.isfinite(cue.end) for cue in cues
        )


@FUZZ
@given(st.text(max_size=400), LANGUAGES)
def test_subtitle_readers_take_any_text(text: str, languages: tuple[str, ...] | None) -> None:
    _read_both(text, languages)
    _read_both("WEBVTT\n\n" + text, languages)


@FUZZ
@given(mutated(), LANGUAGES)
def test_subtitle_readers_take_mutated_real_files(text: str, languages: tuple[str, ...] | None) -> None:
    _read_both(text, languages)


@FUZZ
@given(st.lists(st.tuples(timing, st.sampled_from(["Привет", "<i>Hi</i>", ""])), min_size=1, max_size=4))
def test_subtitle_readers_take_timestamps_of_any_size(cues: list[tuple[str, str]]) -> None:
    body = "".join(f"{k}\n{line}\n{row}\n\n" for k, (line, row) in enumerate(cues, start=1))
    _read_both(body, None)
    _read_both("WEBVTT\n\n" + body, None)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("subtitles")


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=600),
        mutated().map(lambda text: text.encode("utf-8", "surrogatepass")),
        mutated().map(lambda text: text.encode("utf-16")),
        mutated().map(lambda text: text.encode("cp1251", "replace")),
    ),
    st.sampled_from(["x.srt", "x.vtt", "x.txt"]),
)
def test_reading_subtitle_files_takes_any_bytes(folder: Path, data: bytes, name: str) -> None:
    path = folder / name
    path.write_bytes(data)
    try:
        read = read_subtitles(path, repair=True)
    except SubtitleError as exc:
        assert str(path) in exc.message and "\n" not in exc.message
        return
    assert read.format in ("srt", "vtt") and len(read.cues) == len(read.line_numbers)


@pytest.mark.parametrize("digits", [400, 5000])
def test_huge_timestamp_numbers_drop_the_cue(folder: Path, digits: int) -> None:
    text = f"1\n{'9' * digits}:00:00,000 --> 00:00:01,000\nПривет\n"
    read = read_srt(text)
    assert read.cues == () and read.dropped == 1
    assert read.warnings[0].line_no == 2 and "too many digits" in read.warnings[0].message
    path = folder / "huge.srt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SubtitleError, match="no cues: 1 unreadable, the first at line 2"):
        read_subtitles(path)
