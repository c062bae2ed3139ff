"""The whole pipeline on real audio with the real model, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt

from pipeline.cli import main
from tests.clips import cut_clip

pytestmark = pytest.mark.slow

OUTPUT_SUFFIXES = (
    ".ru-en.srt",
    ".ru-en.vtt",
    ".ru.srt",
    ".en.srt",
    ".ru.vtt",
    ".en.vtt",
    ".ru.karaoke.vtt",
    ".ru-en.ass",
    ".align.json",
)


def test_clip_aligns_within_250ms(tmp_path: Path, sample_samples, sample_truth, capsys) -> None:
    audio, transcript, truth = cut_clip(sample_samples, sample_truth, first=3, count=8, folder=tmp_path)
    out = tmp_path / "out"

    assert main(["run", str(audio), str(transcript), "--out", str(out), "--no-progress"]) == 0

    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert {f"clip{suffix}" for suffix in OUTPUT_SUFFIXES} <= set(written)
    assert not [name for name in written if name.endswith(".tmp")]
    result = json.loads((out / "clip.align.json").read_text(encoding="utf-8"))
    assert [line["ru"] for line in result["lines"]] == [line["ru"] for line in truth]
    errors = [abs(got["start"] - want["start"]) for got, want in zip(result["lines"], truth)]
    assert all(line["status"] == "aligned" for line in result["lines"])
    assert sum(e <= 0.25 for e in errors) / len(errors) >= 0.9, errors
    dual = list(srt.parse((out / "clip.ru-en.srt").read_text(encoding="utf-8")))
    assert dual and all("<i>" in cue.content for cue in dual)
    assert "8 lines: 8 aligned" in capsys.readouterr().out


def test_unspoken_line_is_marked_not_timed(tmp_path: Path, sample_samples, sample_truth) -> None:
    audio, transcript, truth = cut_clip(sample_samples, sample_truth, first=10, count=5, folder=tmp_path)
    missing = "Этой фразы в записи нет, её никто не произносил вслух."
    text = transcript.read_text(encoding="utf-8")
    second_ru = truth[2]["ru"]
    transcript.write_text(text.replace(second_ru, f"{missing}\n\nNobody said this.\n\n{second_ru}"), "utf-8")
    out = tmp_path / "out"

    assert main(["run", str(audio), str(transcript), "--out", str(out), "--no-progress"]) == 0

    lines = json.loads((out / "clip.align.json").read_text(encoding="utf-8"))["lines"]
    inserted = next(line for line in lines if line["ru"] == missing)
    assert inserted["status"] == "unspoken"
    assert inserted["start"] is None and inserted["end"] is None
    assert sum(line["status"] == "aligned" for line in lines) == 5
