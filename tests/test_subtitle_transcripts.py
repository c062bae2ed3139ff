"""Subtitle files as transcripts: `subpipe run AUDIO FILE.srt|FILE.vtt [--en FILE]` re-times them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import transcript
from pipeline.cli import main
from pipeline.errors import SubtitleError, TranscriptError
from pipeline.subtitles.as_transcript import read_lines
from pipeline.subtitles.formats import compose_srt, compose_vtt
from pipeline.subtitles.formats._common import timestamp
from pipeline.types import Cue, Line
from tests.clips import cut_clip

CUES = [
    Cue(1.0, 2.5, ("Всем привет,", "это эпизод."), ("Hello everyone,", "this is the episode.")),
    Cue(3.0, 4.0, (), ("Only English here.",)),
    Cue(5.0, 6.0, ("Только русский.",), ()),
]


def _file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("layout", ["srt", "spans", "stacked"])
def test_a_dual_file_gives_russian_lines_with_their_english(tmp_path: Path, layout: str) -> None:
    text = compose_srt(CUES) if layout == "srt" else compose_vtt(CUES, layout=layout)
    lines = transcript.read(_file(tmp_path / f"ep.{'srt' if layout == 'srt' else 'vtt'}", text))
    assert [(line.ru, line.en) for line in lines] == [
        ("Всем привет, это эпизод.", "Hello everyone, this is the episode."),
        ("", "Only English here."),
        ("Только русский.", ""),
    ]


def test_rows_of_another_tools_dual_file_split_by_alphabet(tmp_path: Path) -> None:
    # No italics, English first, in Windows-1251: what a hand-made dual file looks like.
    text = (
        "1\r\n00:00:01,000 --> 00:00:03,000\r\nGood evening.\r\nДобрый вечер.\r\n\r\n"
        "2\r\n00:00:04,000 --> 00:00:06,000\r\nНовости GDPR.\r\nGDPR news.\r\n"
    )
    lines = transcript.read(_file(tmp_path / "dual.txt", text.replace("\r\n", "\n"), "cp1251"))
    assert [(line.ru, line.en, line.source_line) for line in lines] == [
        ("Добрый вечер.", "Good evening.", 2),
        ("Новости GDPR.", "GDPR news.", 7),
    ]


def test_a_russian_file_gives_lines_without_english(tmp_path: Path) -> None:
    # Latin words in Russian rows, and one row all Latin among twenty: all Russian text.
    cues = [Cue(1.0, 2.0, ("Привет,", "это наш Facebook!"), ()), *CUES[2:]] * 10
    cues.insert(3, Cue(3.0, 4.0, ("OK",), ()))
    lines = transcript.read(_file(tmp_path / "ru.vtt", compose_vtt(cues, ("ru",))))
    assert all(not line.en for line in lines) and len(lines) == 21
    assert [line.ru for line in lines[2:4]] == ["Привет, это наш Facebook!", "OK"]


def test_en_pairs_english_cues_by_time_overlap(tmp_path: Path) -> None:
    russian = _file(tmp_path / "ru.srt", compose_srt([*CUES[:1], *CUES[2:]]))  # its own English is ignored
    english = _file(
        tmp_path / "en.vtt",
        compose_vtt(
            [
                Cue(0.8, 1.6, (), ("Hi all,",)),
                Cue(1.6, 2.4, (), ("this is it.",)),
                Cue(4.2, 4.6, (), ("Nobody says this in Russian.",)),
                Cue(5.5, 7.0, (), ("Russian only.",)),
            ],
            ("en",),
        ),
    )
    lines = transcript.read(russian, english)
    assert [(line.ru, line.en) for line in lines] == [
        ("Всем привет, это эпизод.", "Hi all, this is it."),
        ("", "Nobody says this in Russian."),
        ("Только русский.", "Russian only."),
    ]
    with pytest.raises(TranscriptError, match="--en pairs an English subtitle file"):
        transcript.read(_file(tmp_path / "plain.txt", "Привет.\n\nHello.\n"), english)


def test_old_times_are_kept_aside_and_a_file_without_cues_is_refused(tmp_path: Path) -> None:
    found = read_lines(compose_srt(CUES), tmp_path / "ep.srt")
    assert found.old_times == ((1.0, 2.5), (3.0, 4.0), (5.0, 6.0))
    with pytest.raises(SubtitleError, match="no cues"):
        transcript.read(_file(tmp_path / "empty.vtt", "WEBVTT\n\n"))


def _drifted_srt(truth: list[dict], drop: int, edit: int) -> str:
    """The truth as another tool's SRT: 2.5 s late, drifting 3 % slow, one line gone, one reworded."""
    cues = []
    for k, line in enumerate(truth):
        if k == drop:
            continue
        ru = line["ru"] if k != edit else line["ru"].replace(line["ru"].split()[0], "Итак,", 1)
        start, end = 2.5 + line["start"] * 1.03, 2.5 + line["end"] * 1.03
        cues.append(f"{len(cues) + 1}\n{timestamp(start, ',')} --> {timestamp(end, ',')}\n{ru}\n")
    return "\n".join(cues)


@pytest.mark.slow
def test_run_re_times_another_tools_subtitles(tmp_path: Path, sample_samples, sample_truth, capsys) -> None:
    audio, _, truth = cut_clip(sample_samples, sample_truth, first=3, count=8, folder=tmp_path)
    old = _file(tmp_path / "old.ru.srt", _drifted_srt(truth, drop=5, edit=2))
    kept = [line for k, line in enumerate(truth) if k != 5]
    # the English from the same vendor: the same wrong times, give or take a tenth
    english = _file(
        tmp_path / "old.en.srt",
        compose_srt(
            [Cue(2.6 + x["start"] * 1.03, 2.4 + x["end"] * 1.03, (), (x["en"],)) for x in kept], ("en",)
        ),
    )
    out = tmp_path / "out"

    assert main(["run", str(audio), str(old), "--en", str(english), "--out", str(out), "--no-progress"]) == 0

    got = json.loads((out / "clip.align.json").read_text(encoding="utf-8"))["lines"]
    assert len(got) == len(kept)
    assert [g["en"] for g in got] == [line["en"] for line in kept], "English paired by time"
    errors = [abs(g["start"] - want["start"]) for g, want in zip(got, kept)]
    assert sum(e <= 0.25 for e in errors) >= len(errors) - 1, errors
    assert "7 lines: 7 aligned" in capsys.readouterr().out


def test_transcript_lines_are_plain_lines() -> None:
    found = read_lines("WEBVTT\n\n00:01.000 --> 00:02.000\n<c.ru>Да</c>\n<c.en>Yes</c>\n", "x.vtt")
    assert found.lines == (Line(0, "Да", "Yes", 3),)


def test_the_re_timing_benchmark_damages_the_truth_as_it_says(sample_truth) -> None:
    from bench import retime
    from pipeline.subtitles.formats import parse_srt

    old = retime.damage(sample_truth)
    spoken = [k for k, line in enumerate(sample_truth["lines"]) if line["ru"] and line["spoken"]]
    cues = parse_srt(old.text)
    assert len(cues) == len(old.kept) == len(spoken) - max(1, round(retime.DROPPED_SHARE * len(spoken)))
    assert len(old.edited) == round(retime.EDITED_SHARE * len(spoken))
    for cue, k in zip(cues, old.kept):
        line = sample_truth["lines"][k]
        assert abs(cue.start - (retime.OFFSET_S + line["start"] * retime.DRIFT)) < 0.001
        assert (" ".join(cue.ru) == line["ru"]) == (k not in old.edited)
