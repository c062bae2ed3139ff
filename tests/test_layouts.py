"""The dual layouts beyond plain SRT: stacked WebVTT, word-level karaoke WebVTT and ASS."""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.subtitles.formats import compose_ass, compose_karaoke, compose_vtt, parse_vtt
from pipeline.subtitles.formats.ass import EN_SIZE, MARGIN_V
from pipeline.types import Cue, Word

WORDS = (
    Word("Всем", 1.0, 1.3),
    Word("привет,", 1.35, 1.8),
    Word("это", 1.9, 2.0),
    Word("завершающий", 2.05, 2.7),
    Word("эпизод.", 2.75, 3.2),
)
CUE = Cue(
    1.0,
    3.6,
    ("Всем привет,", "это завершающий эпизод."),
    ("Hello everyone,", "this is the final episode."),
    (1,),
    WORDS,
)
EN_ONLY = Cue(4.0, 5.0, (), ("Only English here.",), (2,))
RU_ONLY = Cue(5.2, 6.5, ("Только {русский} \\N текст.",), (), (3,))


# --- stacked WebVTT ---------------------------------------------------------------------


def test_stacked_vtt_gives_each_language_a_positioned_cue() -> None:
    text = compose_vtt([CUE, EN_ONLY], layout="stacked")
    assert text.startswith("WEBVTT\n\nSTYLE\n")
    assert (
        "1-ru\n00:00:01.000 --> 00:00:03.600 line:0 align:center\n"
        "<c.ru>Всем привет,</c>\n<c.ru>это завершающий эпизод.</c>\n\n"
        "1-en\n00:00:01.000 --> 00:00:03.600 line:-1 align:center\n"
        "<c.en>Hello everyone,</c>\n<c.en>this is the final episode.</c>\n\n"
        "2-en\n00:00:04.000 --> 00:00:05.000 line:-1 align:center\n<c.en>Only English here.</c>\n"
    ) in text
    back = parse_vtt(text)
    assert [(c.start, c.end, c.ru, c.en) for c in back] == [
        (1.0, 3.6, CUE.ru, CUE.en),
        (4.0, 5.0, (), EN_ONLY.en),
    ]


# --- karaoke ----------------------------------------------------------------------------

_STAMP = re.compile(r"<(\d{2}):(\d{2}):(\d{2})\.(\d{3})>")


def _stamps(row_text: str) -> list[float]:
    return [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in _STAMP.findall(row_text)]


def test_karaoke_puts_each_word_start_before_the_word() -> None:
    text = compose_karaoke([CUE, EN_ONLY, RU_ONLY])
    assert text.startswith("WEBVTT\n\nSTYLE\n::cue")
    assert (
        "1\n00:00:01.000 --> 00:00:03.600\n"
        "Всем <00:00:01.350>привет,\n<00:00:01.900>это <00:00:02.050>завершающий <00:00:02.750>эпизод.\n"
    ) in text
    assert "English" not in text, "Russian only"
    # read back as a plain Russian file, the words are all there
    back = parse_vtt(text, ("ru",))
    assert [c.ru for c in back] == [CUE.ru, RU_ONLY.ru]


def test_karaoke_without_word_times_spreads_the_words_over_the_cue() -> None:
    text = compose_karaoke([RU_ONLY])
    body = text.split("00:00:06.500\n", 1)[1]
    stamps = _stamps(body)
    assert len(stamps) == len(RU_ONLY.ru[0].split()) - 1
    assert stamps[0] > 5.2 and stamps == sorted(stamps) and stamps[-1] < 6.5


@st.composite
def timed_cues(draw: st.DrawFn) -> Cue:
    start = draw(st.integers(0, 10_000)) / 1000
    end = start + draw(st.integers(1, 7000)) / 1000
    n = draw(st.integers(1, 12))
    tokens = [draw(st.text(alphabet="абвгд<&>", min_size=1, max_size=6)) for _ in range(n)]
    # word times as an aligner might leave them: unordered, outside the cue, overlapping
    times = [draw(st.integers(-2000, 9000)) / 1000 + start for _ in range(n)]
    words = tuple(Word(t, s, s + 0.2) for t, s in zip(tokens, times))
    if draw(st.booleans()):
        words = words[:-1]  # a count that does not match: times by share of characters
    rows = (" ".join(tokens[: n // 2]), " ".join(tokens[n // 2 :]))
    return Cue(start, end, tuple(r for r in rows if r), (), (1,), words)


@settings(max_examples=150, deadline=None)
@given(timed_cues())
def test_karaoke_timestamps_are_valid_webvtt(cue: Cue) -> None:
    """Each timestamp lies inside its cue and after the one before, as WebVTT requires."""
    text = compose_karaoke([cue])
    lines = text.rstrip("\n").split("\n\n")[-1].split("\n")
    stamps = _stamps("\n".join(lines[2:]))
    assert all(cue.start < t < cue.end for t in stamps)
    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert parse_vtt(text, ("ru",))[0].ru == cue.ru


# --- ASS --------------------------------------------------------------------------------


def test_ass_has_two_styles_and_keeps_russian_above_english() -> None:
    text = compose_ass([CUE, EN_ONLY, RU_ONLY], title="episode 7")
    assert text.startswith("[Script Info]\n")
    assert "Title: episode 7\n" in text and "PlayResY: 1080\n" in text
    styles = [line for line in text.splitlines() if line.startswith("Style: ")]
    assert [s.split(",")[0] for s in styles] == ["Style: RU", "Style: EN"]
    assert styles[1].split(",")[8] == "-1", "English in italics"
    events = [line for line in text.splitlines() if line.startswith("Dialogue: ")]
    assert events == [
        "Dialogue: 0,0:00:01.00,0:00:03.60,EN,,0,0,0,,Hello everyone,\\Nthis is the final episode.",
        f"Dialogue: 0,0:00:01.00,0:00:03.60,RU,,0,0,{MARGIN_V + 2 * round(EN_SIZE * 1.25) + 10},,"
        "Всем привет,\\Nэто завершающий эпизод.",
        "Dialogue: 0,0:00:04.00,0:00:05.00,EN,,0,0,0,,Only English here.",
        # no English below: the style's own margin; braces and backslashes cannot reach the renderer
        "Dialogue: 0,0:00:05.20,0:00:06.50,RU,,0,0,0,,Только (русский) /N текст.",
    ]
