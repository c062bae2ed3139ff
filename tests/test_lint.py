"""`subpipe lint` and reading real-world subtitle files: repairs with a warning, or an error with the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import EXIT_VIOLATIONS, main
from pipeline.errors import SubtitleError
from pipeline.subtitles.formats import compose_srt, compose_vtt, read_subtitles
from pipeline.subtitles.lint import check_cues, lint
from pipeline.subtitles.profiles import load as load_profile
from pipeline.types import Cue

CLEAN = [
    Cue(
        1.0,
        3.5,
        ("Всем привет,", "это завершающий эпизод."),
        ("Hello everyone,", "this is the final episode."),
        (1,),
    ),
    Cue(3.583, 5.0, (), ("Only English here.",), (2,)),
    Cue(6.0, 8.0, ("Только русский.",), (), (3,)),
]
BROKEN = [
    Cue(1.0, 1.4, ("Очень быстро сказанная фраза",), ("A phrase said very fast",)),  # short and fast
    Cue(1.45, 9.0, ("Эта строка слишком длинная, чтобы поместиться",), ("ok",)),  # gap, length, duration
    Cue(8.5, 10.0, ("а",), ("b",)),  # overlaps the one before
]


def _lint(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(["lint", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def _file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- the command ------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["srt", "spans", "stacked"])
def test_clean_file_exits_zero_with_a_summary(tmp_path: Path, capsys, layout: str) -> None:
    text = compose_srt(CLEAN) if layout == "srt" else compose_vtt(CLEAN, layout=layout)
    path = _file(tmp_path / f"ep.{'srt' if layout == 'srt' else 'vtt'}", text)
    code, out, err = _lint(capsys, str(path))
    assert code == 0 and err == ""
    assert out == [
        f"{path}: 3 cues, 0 violations of profile netflix; over reading speed: ru 0/2 (0.0%); en 0/2 (0.0%)"
    ]


def test_violations_one_line_each_with_cue_number_time_and_line(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path / "bad.srt", compose_srt(BROKEN))
    code, out, _ = _lint(capsys, str(path))
    assert code == EXIT_VIOLATIONS == 10
    *lines, summary = out
    expected = {(v.cue_index, v.rule) for v in check_cues(BROKEN)}
    assert {(1, "min_duration"), (1, "reading_speed_ru"), (1, "gap"), (2, "line_length")} <= expected
    assert {(2, "max_duration"), (2, "overlap")} <= expected
    assert len(lines) == len(expected)
    first = next(line for line in lines if "min_duration" in line)
    assert first.startswith(f"{path}:2: cue 1 00:00:01.000 --> 00:00:01.400: min_duration: 0.400 s")
    overlap = next(line for line in lines if "overlap" in line)
    assert overlap.startswith(f"{path}:7: cue 2 00:00:01.450 --> 00:00:09.000: overlap")
    assert summary.startswith(f"{path}: 3 cues, {len(expected)} violations (gap 1, line_length 1,")
    assert "over reading speed: ru 1/3 (33.3%); en 1/3 (33.3%)" in summary


def test_profile_changes_the_verdict(tmp_path: Path, capsys) -> None:
    cue = Cue(0.0, 3.0, ("Сорок один символ в одной строке, да-да!!",), ())
    path = _file(tmp_path / "a.srt", compose_srt([cue]))
    assert _lint(capsys, str(path))[0] == EXIT_VIOLATIONS
    assert _lint(capsys, str(path), "--profile", "relaxed")[0] == 0
    custom = _file(tmp_path / "house.toml", 'extends = "netflix"\nru_max_chars = 41\nru_max_cps = 30\n')
    code, out, _ = _lint(capsys, str(path), "--profile", str(custom))
    assert code == 0 and "of profile house;" in out[-1]


def test_lint_errors_are_one_line_with_their_exit_codes(tmp_path: Path, capsys) -> None:
    code, out, err = _lint(capsys, str(tmp_path / "missing.srt"))
    assert out == []
    assert code == 3 and "not found" in err and len(err.splitlines()) == 1
    bad = _file(tmp_path / "bad.srt", "1\n00:00:01,000 -> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:6x\nyo\n")
    code, _, err = _lint(capsys, str(bad))
    assert code == 8
    assert err.strip() == (
        f"subpipe: error: {bad}: no cues: 1 unreadable, the first at line 5 "
        "(bad timing line '00:00:03,000 --> 00:00:6x': '00:00:6x' is not a timestamp)"
    )
    code, _, err = _lint(capsys, str(bad), "--profile", "nonesuch")
    assert code == 1 and "unknown profile 'nonesuch'" in err and "netflix" in err


# --- reading real-world files -----------------------------------------------------------

MESSY_SRT = (
    "\ufeff1\r\n"
    "00:00:01,000 --> 00:00:02,500\r\n"
    '<font color="#ffff00">Всем привет,</font>\r\n'
    "<i>Hello everyone,</i>\r\n"
    "\r\n"
    "2\r\n"
    "0:00:03.5 -> 00:00:05,000\r\n"
    "{\\an8}Это второй титр\r\n"
    "<i>The second cue</i>\r\n"
    "3\r\n"
    "00:00:04,000 --> 00:00:04,000\r\n"
    "Налезает и пустой\r\n"
    "<i>Overlaps, no length</i>\r\n"
)


def test_messy_srt_is_repaired_with_a_warning_per_repair(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path / "messy.srt", MESSY_SRT)
    read = read_subtitles(path)
    assert read.format == "srt"
    assert [(c.start, c.end, c.ru, c.en) for c in read.cues] == [
        (1.0, 2.5, ("Всем привет,",), ("Hello everyone,",)),
        (3.5, 5.0, ("Это второй титр",), ("The second cue",)),
        (4.0, 4.0, ("Налезает и пустой",), ("Overlaps, no length",)),
    ]
    assert read.line_numbers == (2, 7, 11)
    warnings = {(w.line_no, w.message.split(" '")[0].split(" (")[0]) for w in read.warnings}
    assert warnings == {
        (3, "formatting tags removed"),
        (7, "malformed timestamp"),
        (7, "timing arrow"),
        (10, "missing blank line before this cue"),
    }
    # lint shows each repair as a warning line before the violations
    code = main(["lint", str(path)])
    out = capsys.readouterr().out.splitlines()
    assert code == EXIT_VIOLATIONS
    assert out[0] == f"{path}:3: warning: formatting tags removed (first here)"
    assert f"{path}:7: warning: malformed timestamp '0:00:03.5' read as 00:00:03,500" in out
    # Timing faults are kept for lint to report, or mended on request.
    rules = {(v.cue_index, v.rule) for v in lint(path).violations}
    assert {(2, "overlap"), (3, "min_duration")} <= rules
    fixed = read_subtitles(path, repair=True)
    assert [(c.start, c.end) for c in fixed.cues] == [(1.0, 2.5), (3.5, 4.0), (4.0, 5.0)]
    assert sum("overlaps" in w.message for w in fixed.warnings) == 1
    assert sum("no duration" in w.message for w in fixed.warnings) == 1


def test_other_encodings_are_decoded_with_a_warning_that_names_them(tmp_path: Path) -> None:
    text = compose_srt(CLEAN)
    for name, encoding, note in (
        ("a.srt", "cp1251", "Windows-1251"),
        ("b.srt", "utf-16", "UTF-16"),
        ("k.srt", "koi8-r", "KOI8-R"),
    ):
        read = read_subtitles(_file(tmp_path / name, text, encoding))
        assert [(c.ru, c.en) for c in read.cues] == [(c.ru, c.en) for c in CLEAN]
        assert [w.line_no for w in read.warnings] == [0] and note in read.warnings[0].message
    # A stray NUL is what WebVTT's parser makes U+FFFD of; binary data is refused.
    read = read_subtitles(_file(tmp_path / "nul.srt", "1\n00:00:01,000 --> 00:00:02,000\nx\x00y\n"))
    assert read.cues[0].en == ("x\ufffdy",) and "first on line 3" in read.warnings[0].message
    with pytest.raises(SubtitleError, match="binary file") as info:
        read_subtitles(_file(tmp_path / "bin.srt", "1\n00:00:01,000 --> 00:00:02,000\n" + "\x00\x01" * 40))
    assert info.value.line_no == 3


def test_misnamed_and_headerless_webvtt(tmp_path: Path) -> None:
    vtt = compose_vtt(CLEAN)
    read = read_subtitles(_file(tmp_path / "really-vtt.srt", vtt))
    assert read.format == "vtt" and read.warnings == ()
    assert [c.en for c in read.cues] == [c.en for c in CLEAN]
    headless = _file(tmp_path / "nohead.vtt", vtt.split("\n\n", 2)[2])
    read = read_subtitles(headless)
    assert [w.message for w in read.warnings] == ["WEBVTT header missing"]
    assert len(read.cues) == 3


def test_dialogue_that_looks_a_little_like_timing_stays_text(tmp_path: Path) -> None:
    text = "1\n00:00:01,000 --> 00:00:03,000\nСчёт 2:1 -> финал\n<i>Score 2:1 -> final</i>\n"
    read = read_subtitles(_file(tmp_path / "score.srt", text))
    assert [(c.ru, c.en) for c in read.cues] == [(("Счёт 2:1 -> финал",), ("Score 2:1 -> final",))]
    assert read.warnings == ()


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [
        ("00:00:01,500", 1.5),
        ("00:00:01.500", 1.5),  # a WebVTT stamp in SRT
        ("0:0:1,5", 1.5),  # short fields; one fraction digit is tenths
        ("00:01,250", 1.25),  # no hours
        ("00:00:01:500", 1.5),  # a colon before the milliseconds
        ("00:00:01, 500", 1.5),
        ("01:00:00,000", 3600.0),
    ],
)
def test_malformed_srt_timestamps_have_one_reading(tmp_path: Path, stamp: str, seconds: float) -> None:
    path = _file(tmp_path / "t.srt", f"1\n{stamp} --> 02:00:00,000\nтекст\n")
    read = read_subtitles(path)
    assert read.cues[0].start == seconds
    assert bool(read.warnings) == (stamp != "00:00:01,500" and stamp != "01:00:00,000")


@pytest.mark.parametrize("stamp", ["00:61:00,000", "00:00:75,000", "1:2:3:4:5", "00-00-01,000", "abc"])
def test_unreadable_timestamps_drop_their_cue_with_the_line(tmp_path: Path, stamp: str) -> None:
    path = _file(
        tmp_path / "t.srt", f"1\n00:00:00,500 --> 00:00:01,000\nok\n\n2\n{stamp} --> 00:00:09,000\nx\n"
    )
    read = read_subtitles(path)
    assert [c.en for c in read.cues] == [("ok",)] and read.dropped == 1
    (warning,) = read.warnings
    assert warning.line_no == 6 and warning.message.startswith(f"cue dropped: bad timing line '{stamp} -->")


def test_repair_timing_sorts_merges_and_spaces_cues(tmp_path: Path) -> None:
    text = (
        "1\n00:00:05,000 --> 00:00:06,000\nпозже\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nраньше\n\n"
        "3\n00:00:01,000 --> 00:00:03,000\nодновременно\n\n"
        "4\n00:00:07,000 --> 00:00:06,500\nназад\n"
    )
    read = read_subtitles(_file(tmp_path / "r.srt", text), repair=True)
    assert [(c.start, c.end, c.ru) for c in read.cues] == [
        (1.0, 3.0, ("раньше", "одновременно")),
        (5.0, 6.0, ("позже",)),
        (7.0, 8.0, ("назад",)),
    ]
    assert read.line_numbers == (6, 2, 14)
    assert any("out of time order" in w.message for w in read.warnings)


def test_profiles_ship_and_load(tmp_path: Path) -> None:
    netflix = load_profile("netflix")
    assert netflix == load_profile("netflix") and netflix.min_gap == pytest.approx(2 / 24)
    assert netflix.min_duration == pytest.approx(5 / 6)
    bbc = load_profile("bbc")
    assert (bbc.name, bbc.ru_max_chars, bbc.frame_rate, bbc.max_duration) == ("bbc", 37, 25.0, 7.0)
    bad = _file(tmp_path / "bad.toml", "ru_max_chars = 'many'\n")
    with pytest.raises(Exception, match="ru_max_chars must be a whole number"):
        load_profile(bad)
    with pytest.raises(Exception, match="unknown profile key 'colour'"):
        load_profile(_file(tmp_path / "c.toml", "colour = 1\n"))
    with pytest.raises(Exception, match="max_duration must be longer"):
        load_profile(_file(tmp_path / "d.toml", "max_duration = '1/2'\n"))
    loop = _file(tmp_path / "loop.toml", f'extends = "{tmp_path / "loop.toml"}"\n')
    with pytest.raises(Exception, match="cycle"):
        load_profile(loop)
