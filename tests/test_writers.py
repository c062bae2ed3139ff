from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import srt
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import SubtitleError
from pipeline.subtitles.formats import (
    alignment_from_dict,
    alignment_to_dict,
    compose_srt,
    compose_vtt,
    output_names,
    parse_srt,
    parse_vtt,
    write_outputs,
)
from pipeline.subtitles.formats.webvtt import read_vtt
from pipeline.types import AlignedLine, Alignment, Cue, Line, LineStatus, Span, Word

CUES = [
    Cue(
        1.0,
        2.5,
        ("Всем привет,", "это завершающий эпизод."),
        ("Hello everyone,", "this is the final episode."),
        (1,),
    ),
    Cue(2.6, 4.0, (), ("Only English here.",), (2,)),
    Cue(4.2, 3601.25, ("Только русский.",), (), (3,)),
]


def plain(cues: list[Cue]) -> list[tuple[float, float, tuple[str, ...], tuple[str, ...]]]:
    return [(c.start, c.end, c.ru, c.en) for c in cues]


def only(cues: list[Cue], lang: str) -> list[Cue]:
    """What a single-language file keeps of ``cues``."""
    if lang == "ru":
        return [Cue(c.start, c.end, c.ru, ()) for c in cues if c.ru]
    return [Cue(c.start, c.end, (), c.en) for c in cues if c.en]


# --- SRT ----------------------------------------------------------------------------


def test_dual_srt_layout() -> None:
    text = compose_srt(CUES)
    assert text == (
        "1\n00:00:01,000 --> 00:00:02,500\n"
        "Всем привет,\nэто завершающий эпизод.\n<i>Hello everyone,</i>\n<i>this is the final episode.</i>\n\n"
        "2\n00:00:02,600 --> 00:00:04,000\n<i>Only English here.</i>\n\n"
        "3\n00:00:04,200 --> 01:00:01,250\nТолько русский.\n\n"
    )
    subs = list(srt.parse(text))
    assert [s.index for s in subs] == [1, 2, 3]


@pytest.mark.parametrize(("lang", "count"), [("ru", 2), ("en", 2)])
def test_single_language_srt_leaves_out_cues_without_that_language(lang: str, count: int) -> None:
    text = compose_srt(CUES, (lang,))
    subs = list(srt.parse(text))
    assert len(subs) == count
    assert "<i>" not in text
    assert [s.index for s in subs] == list(range(1, count + 1))
    assert plain(parse_srt(text, (lang,))) == plain(only(CUES, lang))


def test_srt_guesses_languages_when_not_told() -> None:
    assert plain(parse_srt(compose_srt(CUES))) == plain(CUES)
    assert plain(parse_srt(compose_srt(CUES, ("en",)))) == plain(only(CUES, "en"))
    assert plain(parse_srt(compose_srt(CUES, ("ru",)))) == plain(only(CUES, "ru"))


def test_srt_reads_a_block_wrapped_in_one_italic_tag_and_a_bom() -> None:
    text = "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nПривет\r\n<i>Hello\r\nthere</i>\r\n\r\n"
    assert plain(parse_srt(text)) == [(1.0, 2.0, ("Привет",), ("Hello", "there"))]


def test_bad_srt_raises_subtitle_error() -> None:
    with pytest.raises(SubtitleError):
        parse_srt("this is not\nan srt file\n")


# --- WebVTT -------------------------------------------------------------------------

_VTT_TIME = r"\d{2,}:\d{2}:\d{2}\.\d{3}"
_VTT_TIMING = re.compile(rf"^({_VTT_TIME}) --> ({_VTT_TIME})(?: .*)?$")


def _vtt_seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def validate_vtt(text: str) -> int:
    """A strict check of the WebVTT structure we emit; returns the number of cues."""
    assert re.fullmatch(r"WEBVTT(?:[ \t].*)?", text.split("\n", 1)[0])
    assert "\r" not in text and text.endswith("\n") and "\n\n\n" not in text
    blocks = text.rstrip("\n").split("\n\n")
    cues, seen_cue = 0, False
    for block in blocks[1:]:
        lines = block.split("\n")
        assert all(line.strip() for line in lines), "blank lines separate blocks only"
        if lines[0] == "STYLE":
            assert not seen_cue, "STYLE must come before the first cue"
            assert "-->" not in block
            continue
        if lines[0].startswith("NOTE"):
            continue
        timing_at = 0 if "-->" in lines[0] else 1  # an identifier may come first
        match = _VTT_TIMING.match(lines[timing_at])
        assert match, lines[timing_at]
        start, end = (_vtt_seconds(g) for g in match.groups())
        assert start < end
        text_lines = lines[timing_at + 1 :]
        assert text_lines, "a cue has text"
        assert all("-->" not in line for line in text_lines)
        cues += 1
        seen_cue = True
    return cues


def test_dual_vtt_layout_and_style() -> None:
    text = compose_vtt(CUES)
    assert text.startswith("WEBVTT\n\nSTYLE\n::cue(.ru)")
    assert "::cue(.en)" in text and "font-style: italic" in text
    assert (
        "00:00:01.000 --> 00:00:02.500\n<c.ru>Всем привет,</c>\n<c.ru>это завершающий эпизод.</c>\n" in text
    )
    assert "<c.en>Hello everyone,</c>\n<c.en>this is the final episode.</c>" in text
    assert "01:00:01.250" in text
    assert validate_vtt(text) == 3


def test_single_language_vtt_has_no_classes() -> None:
    text = compose_vtt(CUES, ("en",))
    assert "<c." not in text and "STYLE" not in text
    assert validate_vtt(text) == 2


def test_vtt_reader_tolerates_bom_crlf_identifiers_notes_and_settings() -> None:
    text = (
        "\ufeffWEBVTT - a title\r\n\r\nNOTE written by hand\r\nover two lines\r\n\r\n"
        "intro\r\n01:02.500 --> 01:04.000 align:start position:10%\r\n<c.ru>Привет &amp; пока</c>\r\n"
        "<c.en.yellow>Hello &lt;and&gt; bye</c>\r\n\r\n"
        "00:00:05.000 --> 00:00:06.000\r\n<v Anna><c.en>Just <b>this</b></c>\r\n"
    )
    assert plain(parse_vtt(text)) == [
        (62.5, 64.0, ("Привет & пока",), ("Hello <and> bye",)),
        (5.0, 6.0, (), ("Just this",)),
    ]


def test_bad_vtt_raises_without_header_and_drops_only_a_bad_cue() -> None:
    with pytest.raises(SubtitleError) as info:
        parse_vtt("1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    assert "WEBVTT" in info.value.message
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n\n00:00:03.000 --> 00:00:0x\nbye\n"
    assert plain(parse_vtt(text)) == [(1.0, 2.0, (), ("hi",))]
    (warning,) = read_vtt(text).warnings
    assert warning.line_no == 6 and warning.message.startswith("cue dropped: bad timing line")


# --- round trips ----------------------------------------------------------------------

WORD = st.text(
    alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЯabcxyzABCXYZ0123456789.,!?'-", min_size=1, max_size=8
)
VTT_WORD = st.text(alphabet="абвгдяabcxyzABC019.,!?'-&<>;", min_size=1, max_size=8)


def rows(word: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.lists(word, min_size=1, max_size=5).map(" ".join), max_size=2).map(tuple)


@st.composite
def cue_lists(draw: st.DrawFn, word: st.SearchStrategy[str]) -> list[Cue]:
    cues, t = [], draw(st.integers(0, 5000))
    for _ in range(draw(st.integers(0, 8))):
        ru, en = draw(rows(word)), draw(rows(word))
        if not (ru or en):
            continue
        start = t + draw(st.integers(0, 3000))
        end = start + draw(st.integers(1, 8000))
        cues.append(Cue(start / 1000, end / 1000, ru, en))
        t = end
    return cues


LANGUAGES = st.sampled_from([("ru", "en"), ("ru",), ("en",)])


@settings(max_examples=150, deadline=None)
@given(cue_lists(WORD), LANGUAGES)
def test_srt_round_trip(cues: list[Cue], languages: tuple[str, ...]) -> None:
    text = compose_srt(cues, languages)
    expected = cues if len(languages) == 2 else only(cues, languages[0])
    assert len(list(srt.parse(text))) == len(expected)
    assert parse_srt(text, languages) == expected


@settings(max_examples=150, deadline=None)
@given(cue_lists(VTT_WORD), LANGUAGES, st.sampled_from(["spans", "stacked"]))
def test_vtt_round_trip(cues: list[Cue], languages: tuple[str, ...], layout: str) -> None:
    text = compose_vtt(cues, languages, layout)
    expected = cues if len(languages) == 2 else only(cues, languages[0])
    stacked = layout == "stacked" and len(languages) == 2
    assert validate_vtt(text) == sum(2 if stacked and c.ru and c.en else 1 for c in expected)
    assert parse_vtt(text, languages) == expected
    if len(languages) == 2:
        assert parse_vtt(text) == expected, "the classes alone tell the languages apart"


# --- alignment json and write_outputs --------------------------------------------------

ALIGNMENT = Alignment(
    audio="episode.ogg",
    duration=3600.5,
    model="whisper-base",
    lines=(
        AlignedLine(
            Line(1, "всем привет", "hello everyone"),
            LineStatus.ALIGNED,
            1.0,
            2.25,
            0.875,
            (Word("всем", 1.0, 1.5), Word("привет", 1.6, 2.25)),
        ),
        AlignedLine(Line(2, "не прозвучало", "not heard"), LineStatus.UNSPOKEN, None, None, 0.0),
        AlignedLine(Line(3, "", "English only"), LineStatus.NO_TEXT, 3.0, 4.0, 0.0),
    ),
    unscripted=(Span(10.0, 12.5, "лишняя речь"),),
)


def test_alignment_json_contract_and_round_trip() -> None:
    data = alignment_to_dict(
        Alignment(
            "a.ogg",
            10.00049,
            "m",
            (AlignedLine(Line(1, "да", "yes", source_line=4), LineStatus.ALIGNED, 1.23456, 2.0, 0.5),),
        )
    )
    assert data == {
        "audio": "a.ogg",
        "duration": 10.0,
        "model": "m",
        "lines": [
            {
                "index": 1,
                "source_line": 4,
                "ru": "да",
                "en": "yes",
                "status": "aligned",
                "start": 1.235,
                "end": 2.0,
                "confidence": 0.5,
                "words": [],
            }
        ],
        "unscripted": [],
    }
    assert alignment_from_dict(data).lines[0].line.source_line == 4  # a cached alignment keeps it
    dumped = json.loads(json.dumps(alignment_to_dict(ALIGNMENT)))
    assert dumped["lines"][1]["start"] is None and dumped["lines"][1]["status"] == "unspoken"
    assert alignment_from_dict(dumped) == ALIGNMENT
    with pytest.raises(ValueError):
        alignment_from_dict({"audio": "x"})


def test_write_outputs_writes_exactly_the_nine_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_outputs(out, "ep1", ALIGNMENT, CUES)
    names = {
        "ep1.ru-en.srt",
        "ep1.ru-en.vtt",
        "ep1.ru.srt",
        "ep1.en.srt",
        "ep1.ru.vtt",
        "ep1.en.vtt",
        "ep1.ru.karaoke.vtt",
        "ep1.ru-en.ass",
        "ep1.align.json",
    }
    assert {p.name for p in written} == names and len(written) == 9
    assert [p.name for p in written] == output_names("ep1")
    assert {p.name for p in out.iterdir()} == names, "no temp files are left behind"
    assert plain(parse_srt((out / "ep1.ru-en.srt").read_text(encoding="utf-8"))) == plain(CUES)
    assert plain(parse_vtt((out / "ep1.en.vtt").read_text(encoding="utf-8"), ("en",))) == plain(
        only(CUES, "en")
    )
    data = json.loads((out / "ep1.align.json").read_text(encoding="utf-8"))
    assert alignment_from_dict(data) == ALIGNMENT
    # rewriting replaces the files in place
    assert write_outputs(out, "ep1", ALIGNMENT, CUES[:1]) == written
    assert len(list(srt.parse((out / "ep1.ru.srt").read_text(encoding="utf-8")))) == 1
    assert {p.name for p in out.iterdir()} == names
    # the stacked layout changes only the dual WebVTT
    write_outputs(out, "ep1", ALIGNMENT, CUES, vtt_layout="stacked")
    assert "line:0" in (out / "ep1.ru-en.vtt").read_text(encoding="utf-8")
    assert "line:" not in (out / "ep1.ru.vtt").read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        write_outputs(out, "ep1", ALIGNMENT, CUES, vtt_layout="sideways")
