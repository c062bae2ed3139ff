"""The QA findings recover edits made on purpose to real audio, through the real pipeline.

A short episode is cut from the committed sample with its truth times, no
Festival needed: some lines' audio is left out (they become unspoken), the
audio of lines from elsewhere in the sample is put in without their text
(unscripted speech), and a word is changed in some reference lines.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.qa import recovery
from pipeline.audio import SAMPLE_RATE
from pipeline.cli import main
from pipeline.qa.findings import Kind
from pipeline.transcript import compose
from pipeline.types import Line
from tests.clips import write_wav

pytestmark = pytest.mark.slow

STRETCH = range(10, 28)  # sample lines making up the episode; 19 is English-only, its Russian spoken
UNSPOKEN = {13, 17, 24}  # text kept, audio left out
CHANGED = {  # the transcript says the second word where the speaker said the first
    11: ("профильным", "региональным"),
    16: ("рекомендации", "претензии"),
    18: ("опасения", "восторг"),
    21: ("защищали", "критиковали"),
    26: ("исчезло", "осталось"),
}
INSERTED = {14: 37, 22: 43}  # after this line, the audio of that far-away line, without its text
PAUSE = 0.6
EDGE = 0.05  # the truth times are tight around the speech


def build_episode(samples: np.ndarray, sample_truth: dict, folder: Path) -> tuple[Path, Path, dict]:
    """Audio, transcript and a truth in the shape :mod:`bench.synth` writes."""
    source = {ln["index"]: ln for ln in sample_truth["lines"]}
    pieces: list[np.ndarray] = [np.zeros(int(0.5 * SAMPLE_RATE), np.float32)]
    cursor = 0.5
    truth: dict = {"lines": [], "unscripted": [], "changed_words": []}
    lines: list[Line] = []

    def add(ln: dict) -> tuple[float, float]:
        nonlocal cursor
        piece = samples[int((ln["start"] - EDGE) * SAMPLE_RATE) : int((ln["end"] + EDGE) * SAMPLE_RATE)]
        pieces.extend([piece, np.zeros(int(PAUSE * SAMPLE_RATE), np.float32)])
        start = cursor + EDGE
        cursor += piece.size / SAMPLE_RATE + PAUSE
        return start, start + ln["end"] - ln["start"]

    for k, i in enumerate(STRETCH):
        ln = source[i]
        ru = ln["ru"]
        if i in CHANGED:
            said, written = CHANGED[i]
            words = ru.split()
            position = next(p for p, w in enumerate(words) if w.strip(",.") == said)
            ru = ru.replace(said, written, 1)
            change = {"line": k, "position": position, "spoken": said, "written": written}
            truth["changed_words"].append(change)
        lines.append(Line(k, ru, ln["en"]))
        entry = {"index": k, "ru": ru, "en": ln["en"], "spoken": i not in UNSPOKEN}
        entry["start"] = entry["end"] = None
        if i not in UNSPOKEN:
            entry["start"], entry["end"] = add(ln)
            if not ru:
                truth["unscripted"].append({**_span(entry), "text": ln["said_ru"], "line": k})
        truth["lines"].append(entry)
        if i in INSERTED:
            far = source[INSERTED[i]]
            start, end = add(far)
            truth["unscripted"].append({"start": start, "end": end, "text": far["ru"]})
    audio = write_wav(folder / "edited.wav", np.concatenate(pieces))
    transcript = folder / "edited.ru-en.txt"
    transcript.write_text(compose(lines), encoding="utf-8")
    return audio, transcript, truth


def _span(entry: dict) -> dict:
    return {"start": entry["start"], "end": entry["end"]}


def test_findings_recover_the_edits_and_qa_reuses_the_cache(
    tmp_path: Path, sample_samples, sample_truth, capsys
) -> None:
    audio, transcript, truth = build_episode(sample_samples, sample_truth, tmp_path)
    out = tmp_path / "out"

    assert main(["run", str(audio), str(transcript), "--out", str(out), "--no-progress"]) == 0

    report = json.loads((out / "edited.qa.json").read_text(encoding="utf-8"))
    figures = recovery(truth, report)
    with capsys.disabled():  # the figures are worth seeing with -s
        print("\n".join(["", *figures.lines()]))
    assert figures.unspoken_precision >= 0.9 and figures.unspoken_recall >= 0.9, figures
    assert figures.unscripted_precision >= 0.9 and figures.unscripted_recall >= 0.9, figures
    assert figures.changed_recall >= 0.8, figures
    findings = report["findings"]
    shape = {"kind", "line", "start", "end", "score", "reference", "heard", "detail"}
    errors = [f for f in findings if f["kind"] == "transcript_error"]
    assert all(set(f) == shape for f in findings if f["kind"] != "transcript_error")
    assert all(
        shape | {"verdict", "evidence"} <= set(f) <= shape | {"verdict", "evidence", "corrected"}
        for f in errors
    )
    likely = [f for f in findings if f.get("verdict") == "likely"]
    rest = findings[len(likely) :]
    assert findings[: len(likely)] == likely and not [f for f in rest if f.get("verdict") == "likely"]
    assert [f["score"] for f in rest] == sorted((f["score"] for f in rest), reverse=True)
    assert all(0.0 <= f["score"] <= 1.0 and f["start"] <= f["end"] for f in findings)
    assert {f["kind"] for f in findings} <= {k.value for k in Kind}
    english_only = next(ln["index"] for ln in truth["lines"] if not ln["ru"])
    missing = [f for f in findings if f["kind"] == "missing_russian"]
    assert [f["line"] for f in missing] == [english_only] and "например" in missing[0]["heard"].lower()
    words = report["words"]
    errors = words["substitutions"] + words["deletions"] + words["insertions"]
    reference = words["hits"] + words["substitutions"] + words["deletions"]
    assert report["wer"] == pytest.approx(errors / reference, abs=1e-4)
    assert 0.0 < report["cer"] < report["wer"]
    assert (out / "edited.qa.html").stat().st_size > 10_000 and (out / "edited.qa.md").exists()
    capsys.readouterr()

    # `subpipe qa` re-runs only the report: ASR and alignment come from the cache, no subtitles are written.
    for subtitle in out.glob("edited.*.srt"):
        subtitle.unlink()
    (out / "edited.qa.json").unlink()
    assert main(["qa", str(audio), str(transcript), "--out", str(out), "--no-progress"]) == 0

    said = capsys.readouterr().out
    assert "reused: asr, align, verdict" in said and "edited.qa.html" in said
    assert not list(out.glob("edited.*.srt"))
    again = json.loads((out / "edited.qa.json").read_text(encoding="utf-8"))
    assert again["findings"] == findings and again["wer"] == report["wer"]


def test_the_patch_corrects_the_changed_words_and_a_rerun_finds_them_no_more(
    tmp_path: Path, sample_samples, sample_truth, capsys
) -> None:
    audio, transcript, truth = build_episode(sample_samples, sample_truth, tmp_path)
    out, cache = tmp_path / "out", tmp_path / "cache"
    command = ["run", str(audio), str(transcript), "--out", str(out), "--cache", str(cache), "--no-progress"]
    original = transcript.read_bytes()
    changed = {c["line"] for c in truth["changed_words"]}

    assert main(command) == 0
    first = capsys.readouterr().out
    report = json.loads((out / "edited.qa.json").read_text(encoding="utf-8"))
    likely = [f for f in report["findings"] if f.get("verdict") == "likely"]
    patch = out / "edited.qa.patch"
    applied = subprocess.run(["git", "apply", str(patch)], cwd=tmp_path, capture_output=True, text=True)
    corrected = transcript.read_bytes()
    transcript.write_bytes(original)
    patched = subprocess.run(["patch", "-p1", "-i", str(patch)], cwd=tmp_path, capture_output=True, text=True)
    assert main(command) == 0
    second = capsys.readouterr().out
    again = json.loads((out / "edited.qa.json").read_text(encoding="utf-8"))

    with capsys.disabled():
        print(f"\n{first}{second}")
    assert {f["line"] for f in likely} == changed  # every changed word, and nothing else
    assert "likely transcript errors" in first and "edited.qa.patch" in first
    assert applied.returncode == 0 and patched.returncode == 0, applied.stderr + patched.stdout
    assert transcript.read_bytes() == corrected  # both tools make the same file
    assert all(c["written"] not in corrected.decode() for c in truth["changed_words"])
    assert not [f for f in again["findings"] if f.get("verdict") == "likely"]
    assert "0 likely transcript errors" in second and "transcribe" not in second  # the ASR was cached
    assert not patch.exists()
