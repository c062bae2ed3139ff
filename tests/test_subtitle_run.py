"""`subpipe run` with a profile and a layout: the outputs it writes pass `subpipe lint` on the hard rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.episode import Settings, run
from pipeline.subtitles.formats import parse_vtt, read_subtitles
from pipeline.subtitles.lint import lint
from pipeline.subtitles.profiles import load as load_profile
from tests.clips import cut_clip
from tests.conftest import SAMPLE_AUDIO, SAMPLE_TRANSCRIPT

HARD_RULES = {"line_length", "line_count", "min_duration", "max_duration", "gap", "chaining", "overlap"}


@pytest.mark.slow
def test_run_with_stacked_layout_and_bbc_profile(
    tmp_path: Path, sample_samples, sample_truth, engine
) -> None:
    audio, transcript, _ = cut_clip(sample_samples, sample_truth, first=3, count=8, folder=tmp_path)
    out = tmp_path / "out"

    result = run(audio, transcript, out, Settings(vtt_layout="stacked", profile="bbc"), engine=engine)

    bbc = load_profile("bbc")
    assert all(len(row) <= 37 for cue in result.cues for row in (*cue.ru, *cue.en))
    for name in ("clip.ru-en.srt", "clip.ru-en.vtt"):
        report = lint(out / name, bbc)
        assert not report.file.warnings
        assert {v.rule for v in report.violations} <= {"reading_speed_ru", "reading_speed_en"}, name
        # what the run lists is what lint finds in the file it wrote
        assert [(v.cue_index, v.rule) for v in report.violations] == [
            (v.cue_index, v.rule) for v in result.violations
        ]
    stacked = (out / "clip.ru-en.vtt").read_text(encoding="utf-8")
    assert "1-ru\n" in stacked and " line:0 " in stacked and " line:-1 " in stacked
    karaoke = (out / "clip.ru.karaoke.vtt").read_text(encoding="utf-8")
    assert karaoke.count("<00:") >= sum(len(c.words) - 1 for c in result.cues if c.words)
    assert [c.ru for c in parse_vtt(karaoke, ("ru",))] == [c.ru for c in result.cues if c.ru]
    ass = (out / "clip.ru-en.ass").read_text(encoding="utf-8")
    assert ass.count("\nDialogue: ") == sum(bool(c.ru) + bool(c.en) for c in result.cues)
    srt = read_subtitles(out / "clip.ru-en.srt")
    assert [(c.start, c.end, c.ru, c.en) for c in srt.cues] == [
        (c.start, c.end, c.ru, c.en) for c in result.cues
    ]
    assert {v.rule for v in result.violations}.isdisjoint(HARD_RULES)


def test_unknown_profile_fails_before_any_work(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    args = [str(SAMPLE_AUDIO), str(SAMPLE_TRANSCRIPT), "--out", str(out), "--no-progress"]
    code = main(["run", *args, "--profile", "nonesuch"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("subpipe: error: unknown profile 'nonesuch'")
    assert not out.exists()
    code = main(["run", *args, "--profile", str(tmp_path / "house.toml")])
    assert code == 3 and "profile file not found" in capsys.readouterr().err
