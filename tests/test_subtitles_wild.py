"""Subtitle files other tools wrote (issue 18): one test per behaviour that was wrong, numbered as there.

The files are written here, each reproducing a quirk seen in the test suites
of public subtitle projects (webvtt-py, vtt.js, the WPT WebVTT tests, pysrt,
srt, pysubs2, Subtitle Edit).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import EXIT_BROKEN_PIPE, EXIT_VIOLATIONS, main
from pipeline.errors import SubtitleError
from pipeline.subtitles.formats import compose_srt, read_subtitles
from pipeline.subtitles.lint import lint
from pipeline.types import Cue
from tests.conftest import ROOT


def _file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _lint(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = main(["lint", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def _srt(*cues: tuple[str, str, str]) -> str:
    return "".join(f"{n}\n{a} --> {b}\n{text}\n\n" for n, (a, b, text) in enumerate(cues, start=1))


# 1 ------------------------------------------------------------------ a cue right after the one before


def test_1_a_vtt_cue_without_a_blank_line_before_it_is_a_cue(tmp_path: Path) -> None:
    # As in YouTube downloads and vtt.js's cue-spacing test: no blank line between cues, a timing
    # line right after another one (a cue without text), and a cue number right before a timing line.
    text = (
        "WEBVTT\n\n"
        "00:00.000 --> 00:02.000\nFirst cue\n"
        "00:02.000 --> 00:04.000\nSecond cue\n\n"
        "00:06.000 --> 00:08.000\n00:06.000 --> 00:08.000\nThird cue\n"
        "4\n00:09.000 --> 00:10.000\nFourth cue\n"
    )
    read = read_subtitles(_file(tmp_path / "spacing.vtt", text))
    assert [(c.start, c.end, c.en) for c in read.cues] == [
        (0.0, 2.0, ("First cue",)),
        (2.0, 4.0, ("Second cue",)),
        (6.0, 8.0, ()),
        (6.0, 8.0, ("Third cue",)),
        (9.0, 10.0, ("Fourth cue",)),
    ]
    assert not any("-->" in row for cue in read.cues for row in cue.en)
    missing = [w.line_no for w in read.warnings if w.message == "missing blank line before this cue"]
    assert missing == [5, 9, 11]  # where the cue after starts: its timing line or its number


# 2 ------------------------------------------------------------------ Western and Central European code pages

FRENCH = [
    ("00:00:27,074", "00:00:30,566", "CE FILM RELATE DES ÉVÉNEMENTS\nQUI ONT EXISTÉ."),
    ("00:00:30,610", "00:00:34,102", "LES NOMS, LIEUX ET ÉVÉNEMENTS\nONT ÉTÉ MODIFIÉS."),
    ("00:00:48,061", "00:00:51,588", "Il fut un temps,\navant l'existence du câble,"),
    ("00:00:53,166", "00:00:56,533", "où le présentateur local\nrégnait en maître à la télé."),
    (
        "00:00:59,272",
        "00:01:03,003",
        "Où on croyait tout ce qui se disait,\nmême les prévisions très erronées.",
    ),
]
CROATIAN = [
    ("00:00:01,000", "00:00:03,000", "Đino! Čekaj, ćao!"),
    ("00:00:03,500", "00:00:06,000", "Šta je to? Život je lijep,\nali ne znam šta ćemo."),
    ("00:00:06,500", "00:00:09,000", "Kuća je daleko, moramo žuriti\nprije nego što padne mrak."),
]


@pytest.mark.parametrize(
    ("cues", "encoding", "name"),
    [(FRENCH, "cp1252", "Windows-1252"), (CROATIAN, "cp1250", "Windows-1250")],
    ids=["french-cp1252", "croatian-cp1250"],
)
def test_2_western_and_central_european_files_are_read_in_their_own_code_page(
    tmp_path: Path, cues: list[tuple[str, str, str]], encoding: str, name: str
) -> None:
    legacy = _file(tmp_path / f"{encoding}.srt", _srt(*cues), encoding)
    utf8 = _file(tmp_path / "utf-8.srt", _srt(*cues))
    read = read_subtitles(legacy)
    assert [row for cue in read.cues for row in cue.en] == [
        row for *_, text in cues for row in text.split("\n")
    ]
    assert all(not cue.ru for cue in read.cues), "Latin text is not checked as Russian"
    assert read.warnings[0].line_no == 0 and name in read.warnings[0].message
    # the same verdict as for the same text in UTF-8
    assert lint(legacy).violations == lint(utf8).violations


def test_2_cyrillic_code_pages_still_read_as_cyrillic(tmp_path: Path) -> None:
    text = _srt(("00:00:01,000", "00:00:03,000", "Всем привет, это эпизод.\nКак дела у вас?"))
    for encoding, name in (("cp1251", "Windows-1251"), ("koi8-r", "KOI8-R")):
        read = read_subtitles(_file(tmp_path / f"{encoding}.srt", text, encoding))
        assert read.cues[0].ru == ("Всем привет, это эпизод.", "Как дела у вас?")
        assert name in read.warnings[0].message
    # a byte Windows-1251 leaves undefined does not hand the file to another page
    stray = tmp_path / "stray.srt"
    vas = " вас".encode("cp1251")
    stray.write_bytes(text.encode("cp1251").replace(vas, vas + b"\x98"))
    read = read_subtitles(stray)
    assert read.cues[0].ru[1] == "Как дела у вас\ufffd?" and "Windows-1251" in read.warnings[0].message
    wrong = _file(tmp_path / "wrong.srt", text, "cp1251")
    assert read_subtitles(wrong, encoding="cp1252").cues[0].ru == ()  # --encoding is obeyed


# 3 ------------------------------------------------------------------ a row's language


def test_3_an_english_file_is_checked_against_english_limits_whatever_its_italics(tmp_path: Path) -> None:
    row41 = "This row of English text is 41 long, see."  # over the Russian 39, under the English 42
    assert len(row41) == 41
    text = _srt(
        ("00:00:01,000", "00:00:04,000", row41),
        ("00:00:05,000", "00:00:09,000", "<i>One</i>\nTwo\n<i>Three</i>\nFour"),
    )
    report = lint(_file(tmp_path / "english.srt", text))
    assert [(v.cue_index, v.rule, v.detail) for v in report.violations] == [
        (2, "line_count", "4 en rows (max 2)")
    ]


def test_3_an_italic_cyrillic_row_is_russian(tmp_path: Path) -> None:
    row = "Эта строка из сорока одного символа, да-а"
    assert len(row) == 41
    text = _srt(("00:00:01,000", "00:00:05,000", f"<i>{row}</i>"))
    (violation,) = lint(_file(tmp_path / "italic.srt", text)).violations
    assert (violation.rule, violation.detail) == ("line_length", "ru row 1 of 41 characters (max 39)")


def test_3_rows_are_checked_in_their_own_order_and_lang_sets_the_file(tmp_path: Path, capsys) -> None:
    english = "An English row that runs on for more than 42."
    text = _srt(("00:00:01,000", "00:00:06,000", f"{english}\nРусская строка"))
    path = _file(tmp_path / "dual.srt", text)
    report = lint(path)
    assert [v.detail for v in report.violations] == [f"en row 1 of {len(english)} characters (max 42)"]
    assert report.file.rows == ((("en", english), ("ru", "Русская строка")),)
    # --lang says what the whole file is in
    code, out, _ = _lint(capsys, str(path), "--lang", "ru")
    assert code == EXIT_VIOLATIONS and f"ru row 1 of {len(english)} characters (max 39)" in out[0]
    assert [v.detail for v in lint(path, lang="en").violations] == [report.violations[0].detail]


# 4 ------------------------------------------------------------------ many files


def test_4_every_file_is_checked_and_the_exit_code_is_the_worst(tmp_path: Path, capsys) -> None:
    clean = _file(tmp_path / "clean.srt", _srt(("00:00:01,000", "00:00:03,000", "Всем привет.")))
    broken = _file(tmp_path / "broken.srt", _srt(("00:00:01,000", "00:00:01,200", "Всем привет.")))
    binary = tmp_path / "binary.srt"
    binary.write_bytes(bytes(range(256)) * 4)
    missing = tmp_path / "missing.srt"

    code, out, err = _lint(capsys, str(binary), str(broken), str(missing), str(clean))

    assert code == 8  # an unreadable file outranks a missing one and broken rules
    assert err == [
        f"subpipe: error: {binary}:1: is a binary file, not text; give an .srt or .vtt file",
        f"subpipe: error: {missing}: subtitle file not found; check the path",
    ]
    assert any(line.startswith(f"{broken}:2: cue 1 ") for line in out)
    assert out[-2].startswith(f"{clean}: 1 cue, 0 violations")
    assert out[-1] == (
        "subpipe lint: 4 files: 1 clean, 1 breaking the profile, 1 unreadable, 1 not found; 2 violations"
    )
    assert _lint(capsys, str(broken), str(missing), str(clean))[0] == 3
    assert _lint(capsys, str(clean), str(broken))[0] == EXIT_VIOLATIONS
    assert _lint(capsys, str(clean), str(clean))[0] == 0


# 5 ------------------------------------------------------------------ cue numbers


def test_5_cue_numbers_are_the_files_own_after_empty_cues(tmp_path: Path) -> None:
    text = (
        "1\n00:00:06,500 --> 00:00:09,000\nAbout two months ago\n\n"
        "2\n00:00:11,000 --> 00:00:17,000\nAnd I was commenting\n\n"
        "3\n00:00:19,000 --> 00:00:24,000\n\n\n"
        "4\n00:00:25,000 --> 00:00:31,000\n\n\n"
        "5\n00:00:31,000 --> 00:00:31,400\nToo short to read\n"
    )
    report = lint(_file(tmp_path / "empty.srt", text))
    rules = [(v.cue_index, v.rule) for v in report.violations]
    assert rules == [(5, "reading_speed_en"), (5, "min_duration")]
    assert report.file.line_numbers[4] == 18


# 6 ------------------------------------------------------------------ UTF-32 and BOM-less UTF-16


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be", "utf-16-le", "utf-16-be", "utf-32-le"])
def test_6_utf16_and_utf32_with_or_without_bom_are_text(tmp_path: Path, encoding: str) -> None:
    text = _srt(("00:00:01,000", "00:00:03,000", "Всем привет.\n<i>Hello everyone.</i>"))
    read = read_subtitles(_file(tmp_path / "wide.srt", text, encoding))
    assert [(c.ru, c.en) for c in read.cues] == [(("Всем привет.",), ("Hello everyone.",))]
    assert encoding[:6].upper() in read.warnings[0].message


# 7 ------------------------------------------------------------------ a closed pipe


def test_7_a_closed_pipe_ends_lint_quietly(tmp_path: Path) -> None:
    cues = [Cue(k * 2.0, k * 2.0 + 0.2, (f"Строка номер {k}",), ()) for k in range(4000)]
    big = _file(tmp_path / "big.srt", compose_srt(cues))
    lint_ = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "lint", str(big)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = subprocess.run(["head", "-1"], stdin=lint_.stdout, capture_output=True, check=True)
    assert lint_.stdout is not None
    lint_.stdout.close()
    err = lint_.stderr.read() if lint_.stderr else b""
    assert lint_.wait(timeout=120) == EXIT_BROKEN_PIPE == 141
    assert err == b""
    assert head.stdout.decode().startswith(f"{big}:2: cue 1 ")


# 8 ------------------------------------------------------------------ headers


def test_8_header_lines_and_old_region_lines_are_part_of_the_header(tmp_path: Path) -> None:
    text = (
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n00:00:01.000 --> 00:00:03.000\nHLS cue\n"
    )
    youtube = (
        "WEBVTT\nKind: captions\nLanguage: en\nStyle:\n"
        "::cue(c.colorE5E5E5) { color: rgb(229,229,229);\n }\n##\n\n"
    )
    old_regions = (
        "WEBVTT\nRegion: id=fred width=40% lines=3 regionanchor=0%,100% viewportanchor=10%,90%\n\n"
        "REGION: id=bill width=40% lines=3\n\n"  # the old syntax as a block of its own
    )
    for name, head in (("hls", ""), ("youtube", youtube), ("regions", old_regions)):
        body = text if not head else head + "00:00:01.000 --> 00:00:03.000 region:fred\nA cue\n"
        read = read_subtitles(_file(tmp_path / f"{name}.vtt", body))
        assert read.warnings == (), name
        assert len(read.cues) == 1 and read.cues[0].en


# 9 ------------------------------------------------------------------ one bad cue, and spec-valid files


def test_9_a_bad_timing_line_drops_only_its_cue(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n00:00:00.500 --> 00:00:07.000\nCaption one\n\n"
        "00:00:07.000 --> 00:00:1d.890\nCaption two\n\n"
        "00:00:11.890 --> 00:00:16.320\nCaption three\n"
    )
    read = read_subtitles(_file(tmp_path / "timeframe.vtt", text))
    assert [c.en for c in read.cues] == [("Caption one",), ("Caption three",)]
    (warning,) = read.warnings
    assert warning.line_no == 6
    assert warning.message == (
        "cue dropped: bad timing line '00:00:07.000 --> 00:00:1d.890': '00:00:1d.890' is not a timestamp"
    )


def test_9_spec_valid_files_are_read(tmp_path: Path) -> None:
    # Cue settings touching the end time; a header line holding "-->" (it ends the header,
    # and as a cue of its own it has no reading).
    glued = "WEBVTT\n\n00:00.000 --> 00:01.000line:40% size:40%\ncue text\n"
    assert [c.en for c in read_subtitles(_file(tmp_path / "glued.vtt", glued)).cues] == [("cue text",)]
    arrow = "WEBVTT\nfoo --> bar\n\n00:00:00.000 --> 00:00:01.000\ntext\n"
    read = read_subtitles(_file(tmp_path / "arrow.vtt", arrow))
    assert [(c.start, c.end, c.en) for c in read.cues] == [(0.0, 1.0, ("text",))]


# 10 ----------------------------------------------------------------- the same leniency everywhere


@pytest.mark.parametrize("head", ["\tWEBVTT", "WEBvtt", "garbage first line"])
def test_10_an_odd_first_line_is_read_with_a_warning_either_way(tmp_path: Path, head: str) -> None:
    read = read_subtitles(_file(tmp_path / "odd.vtt", f"{head}\n\n00:00:01.000 --> 00:00:02.000\ntext\n"))
    assert [c.en for c in read.cues] == [("text",)]
    assert read.warnings and read.warnings[0].line_no == 1


@pytest.mark.parametrize("arrow", ["-- >", "- ->", "- >", "--->", "->", "—>", "=>"])
def test_10_every_dashed_arrow_is_repaired_the_same_way(tmp_path: Path, arrow: str) -> None:
    text = _srt(("00:00:01,000", "00:00:02,000", "Привет"), ("00:00:03,000", "00:00:04,000", "Пока"))
    read = read_subtitles(_file(tmp_path / "arrow.srt", text.replace("-->", arrow, 1)))
    assert [(c.start, c.ru) for c in read.cues] == [(1.0, ("Привет",)), (3.0, ("Пока",))]
    assert [w.message for w in read.warnings] == [
        f"timing arrow {arrow!r} read as '-->' in '00:00:01,000 {arrow} 00:00:02,000'"
    ]


def test_10_refusals_say_why(tmp_path: Path) -> None:
    text = _srt(("00:00:01,000", "00:00:02,000", "Привет"), ("00:00:03,000", "00:00:04", "Пока"))
    text = text.replace("00:00:01,000 --> 00:00:02,000", "00:00:01,000 --> 00:61:02,000")
    read = read_subtitles(_file(tmp_path / "why.srt", text))
    assert [c.ru for c in read.cues] == [("Пока",)]
    assert read.warnings[0].message.endswith("'00:61:02,000': minutes and seconds run to 59")


@pytest.mark.parametrize("number", ["2.2", "-2", "002", "2 "])
def test_10_odd_cue_numbers_are_cue_numbers(tmp_path: Path, number: str) -> None:
    text = f"1\n00:00:01,000 --> 00:00:02,000\nПривет\n\n{number}\n00:00:03,000 --> 00:00:04,000\nПока\n"
    read = read_subtitles(_file(tmp_path / "numbers.srt", text))
    assert [c.ru for c in read.cues] == [("Привет",), ("Пока",)]
    assert read.warnings == ()


# 11 ----------------------------------------------------------------- answers where one is expected


@pytest.mark.parametrize("text", ["", "\n\n", "WEBVTT\n", "WEBVTT\n\nNOTE nothing here\n"])
def test_11_a_file_without_cues_is_an_error(tmp_path: Path, capsys, text: str) -> None:
    path = _file(tmp_path / "empty.vtt", text)
    code, out, err = _lint(capsys, str(path))
    assert code == 8 and out == []
    assert err[0].startswith(f"subpipe: error: {path}: no cues")


def test_11_recurring_warnings_are_one_line(tmp_path: Path, capsys) -> None:
    cues = [(f"0:00:{k:02d}.5", f"0:00:{k:02d}.9", f"Строка {k}") for k in range(1, 60)]
    path = _file(tmp_path / "stamps.srt", _srt(*cues))
    _, out, _ = _lint(capsys, str(path))
    warnings = [line for line in out if ": warning: " in line]
    assert warnings == [
        f"{path}:2: warning: 118 malformed timestamps, first at line 2: "
        "malformed timestamp '0:00:01.5' read as 00:00:01,500"
    ]


def test_11_zero_length_and_backwards_cues_are_named_plainly(tmp_path: Path) -> None:
    text = _srt(("00:00:04,000", "00:00:04,000", "Пусто"), ("00:00:06,000", "00:00:05,999", "Назад"))
    report = lint(_file(tmp_path / "times.srt", text))
    assert [(v.cue_index, v.rule, v.detail) for v in report.violations] == [
        (1, "min_duration", "no duration: starts and ends at 00:00:04.000"),
        (2, "end_before_start", "ends 0.001 s before it starts"),
    ]
    assert not any("inf" in v.detail for v in report.violations)


def test_11_unreadable_encodings_are_an_error_naming_the_line(tmp_path: Path) -> None:
    path = _file(tmp_path / "x.srt", "1\n00:00:01,000 --> 00:00:02,000\n")
    path.write_bytes(path.read_bytes() + b"\x98\x90\x81\n")
    with pytest.raises(SubtitleError, match="unknown text encoding") as info:
        read_subtitles(path)
    assert info.value.line_no == 3
