"""Bad inputs through the whole pipeline on real speech: what a producer's tools really export.

Transcripts: another episode's, lines of punctuation or numbers, one very long
line, a million lines. Audio: telephone rate, speech in one stereo channel, a
video file, silence, and audio much shorter or longer than its transcript.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pipeline import transcript
from pipeline.cli import main
from pipeline.episode import Result, run
from pipeline.errors import TranscriptError
from pipeline.subtitles.profiles import load as load_profile
from pipeline.transcript import compose
from pipeline.types import Line, LineStatus
from tests.clips import cut_clip, write_wav
from tests.conftest import ROOT, SEED
from tests.test_reliability_media import encode, resample

SPOKEN_TOLERANCE = 0.25  # seconds, as the end-to-end test


@pytest.fixture
def shared_model(monkeypatch: pytest.MonkeyPatch, engine) -> None:
    """Let `subpipe run` (in this process) use the session's loaded model instead of loading its own."""
    monkeypatch.setattr("pipeline.whisper.asr.load", lambda *args, **kwargs: engine)


def _cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["run", *args, "--no-progress"])
    return code, capsys.readouterr().err.strip()


def _outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def _starts_close(result: Result, truth: list[dict], share: float = 0.8) -> None:
    by_ru = {line["ru"]: line for line in truth}
    timed = [
        (line.start, by_ru[line.line.ru]["start"]) for line in result.alignment.lines if line.line.ru in by_ru
    ]
    close = [got is not None and abs(got - want) <= SPOKEN_TOLERANCE for got, want in timed]
    assert timed and sum(close) / len(close) >= share, timed


# ---------------------------------------------------------------- transcripts


@pytest.mark.slow
def test_transcript_of_another_episode_is_refused(
    tmp_path: Path, sample_samples, sample_truth, shared_model, capsys
) -> None:
    audio, text, _ = cut_clip(sample_samples, sample_truth, first=3, count=8, folder=tmp_path)
    # Eight lines from much later in the same season's transcript: the same
    # speakers' vocabulary, none of these words.
    foreign = transcript.read(SEED)[600:608]
    text.write_text(compose(foreign), encoding="utf-8")
    out = tmp_path / "out"

    code, err = _cli(capsys, str(audio), str(text), "--out", str(out))

    assert code == 7
    assert len(err.splitlines()) == 1 and err.startswith("subpipe: error: ")
    assert "does not match" in err and (str(text) in err or audio.name in err)
    assert _outputs(out) == []  # no invented timings written


@pytest.mark.slow
def test_lines_of_only_punctuation_or_numbers(tmp_path: Path, sample_samples, sample_truth, engine) -> None:
    audio, text, truth = cut_clip(sample_samples, sample_truth, first=3, count=6, folder=tmp_path)
    lines = transcript.read(text)
    odd = [("...", ""), ("2021", ""), ("—", "—"), ("!!!", "???"), ("12:30", "12:30")]
    mixed = [
        *lines[:2],
        *[Line(0, ru, en) for ru, en in odd[:2]],
        *lines[2:4],
        *[Line(0, ru, en) for ru, en in odd[2:]],
    ]
    mixed += lines[4:]
    text.write_text(compose([Line(k, x.ru, x.en) for k, x in enumerate(mixed)], "tsv"), encoding="utf-8")

    result = run(audio, text, tmp_path / "out", engine=engine)

    got = {line.line.ru: line for line in result.alignment.lines}
    assert [line.line.ru for line in result.alignment.lines] == [x.ru for x in mixed]  # none dropped
    assert all(got[ru].status is LineStatus.UNSPOKEN and got[ru].start is None for ru, _ in odd)
    assert all(got[line.ru].status is LineStatus.ALIGNED for line in lines)
    _starts_close(result, truth, share=1.0)
    assert all(cue.ru or cue.en for cue in result.cues)


@pytest.mark.slow
def test_one_very_long_line_is_split_into_cues_that_fit(
    tmp_path: Path, sample_samples, sample_truth, engine
) -> None:
    audio, text, truth = cut_clip(sample_samples, sample_truth, first=3, count=8, folder=tmp_path)
    lines = transcript.read(text)
    text.write_text(compose([Line(0, " ".join(x.ru for x in lines), " ".join(x.en for x in lines))]), "utf-8")

    result = run(audio, text, tmp_path / "out", engine=engine)

    (line,) = result.alignment.lines
    assert line.status is LineStatus.ALIGNED
    assert abs(line.start - truth[0]["start"]) <= SPOKEN_TOLERANCE
    assert abs(line.end - truth[-1]["end"]) <= 0.5
    profile = load_profile("netflix")
    assert len(result.cues) >= 4
    for cue in result.cues:
        assert all(len(row) <= profile.ru_max_chars for row in cue.ru)
        assert all(len(row) <= profile.en_max_chars for row in cue.en)
        assert cue.end - cue.start <= profile.max_duration + 1e-6


_PARSE_MILLION = textwrap.dedent(
    """
    import resource, sys, time
    from pipeline import transcript
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    try:
        transcript.read(sys.argv[1])
        outcome = "read"
    except transcript.TranscriptError as exc:
        outcome = exc.message
    seconds = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{seconds:.2f} {(peak - before) / 1024:.0f}")
    print(outcome)
    """
)


def test_a_million_line_transcript_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "million.txt"
    rows = (f"Строка номер {k} по-русски\n\nLine number {k} in English\n\n" for k in range(500_000))
    path.write_text("".join(rows), encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-c", _PARSE_MILLION, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures, message = done.stdout.splitlines()
    seconds, mib = map(float, figures.split())
    print(
        f"million-line transcript ({path.stat().st_size / 2**20:.0f} MiB): refused in {seconds} s, +{mib} MiB"
    )

    assert message == (
        f"{path}: has 1,000,000 non-empty lines, more than any episode's transcript "
        f"({transcript.MAX_ROWS:,} limit); check that this is the right file"
    )
    # CPU seconds, not wall time, so a busy machine does not fail it: a guard against
    # quadratic work, not a speed test (measured: about 1 s and 170 MiB).
    assert seconds < 10 and mib < 600


def test_transcript_at_the_row_limit_is_read_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    half = transcript.MAX_ROWS // 2
    path.write_text("".join(f"Строка {k}\n\nLine {k}\n\n" for k in range(half)), encoding="utf-8")
    started = time.process_time()
    lines = transcript.read(path)
    assert len(lines) == half and lines[-1] == Line(
        half - 1, f"Строка {half - 1}", f"Line {half - 1}", 4 * half - 3
    )
    assert time.process_time() - started < 5  # CPU seconds: linear work (measured: about 0.3 s)
    with pytest.raises(TranscriptError, match="limit"):
        transcript.parse("Привет\n" * (transcript.MAX_ROWS + 1))


def test_multi_megabyte_lines_are_kept_whole_and_read_fast(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    ru, en = "слово " * 400_000, "word " * 400_000
    path.write_text(f"{ru}\n\n{en}\n\n{'.' * 2_000_000}\n", encoding="utf-8")
    started = time.process_time()
    lines = transcript.read(path)
    assert time.process_time() - started < 5  # CPU seconds: linear work
    assert [(x.ru, x.en) for x in lines] == [(ru.strip(), en.strip()), ("." * 2_000_000, "")]


# ---------------------------------------------------------------- audio against its transcript


@pytest.mark.slow
def test_audio_much_shorter_than_the_transcript(tmp_path: Path, sample_samples, sample_truth, engine) -> None:
    audio, text, truth = cut_clip(sample_samples, sample_truth, first=3, count=3, folder=tmp_path)
    spoken = [x for x in sample_truth["lines"] if x["spoken"] and x["ru"]]
    text.write_text(compose([Line(k, x["ru"], x["en"]) for k, x in enumerate(spoken[3:23])]), "utf-8")

    result = run(audio, text, tmp_path / "out", engine=engine)

    statuses = [line.status for line in result.alignment.lines]
    assert statuses == [LineStatus.ALIGNED] * 3 + [LineStatus.UNSPOKEN] * 17
    assert all(line.start is None and line.end is None for line in result.alignment.lines[3:])
    _starts_close(result, truth, share=1.0)
    assert {k for cue in result.cues for k in cue.lines} <= {0, 1, 2}


@pytest.mark.slow
def test_audio_much_longer_than_the_transcript(tmp_path: Path, sample_samples, sample_truth, engine) -> None:
    audio, text, truth = cut_clip(sample_samples, sample_truth, first=3, count=10, folder=tmp_path)
    middle = truth[4:7]
    text.write_text(compose([Line(k, x["ru"], x["en"]) for k, x in enumerate(middle)]), "utf-8")

    result = run(audio, text, tmp_path / "out", engine=engine)

    assert [line.status for line in result.alignment.lines] == [LineStatus.ALIGNED] * 3
    _starts_close(result, middle, share=1.0)
    first, last = result.alignment.lines[0].start, result.alignment.lines[-1].end
    unscripted = result.alignment.unscripted
    # The speech before and after the three lines is reported, not forced onto them.
    before = [span for span in unscripted if span.end <= first + 0.1]
    after = [span for span in unscripted if span.start >= last - 0.5]  # ASR word edges are loose
    assert before and before[0].start <= truth[0]["start"] + SPOKEN_TOLERANCE
    assert before[-1].end >= truth[3]["end"] - SPOKEN_TOLERANCE
    assert after and after[0].start <= truth[7]["start"] + SPOKEN_TOLERANCE
    assert after[-1].end >= truth[-1]["end"] - SPOKEN_TOLERANCE
    written = json.loads((tmp_path / "out" / "clip.align.json").read_text(encoding="utf-8"))
    assert len(written["unscripted"]) == len(unscripted)


# ---------------------------------------------------------------- audio as producers export it


def _telephone(clip: np.ndarray, folder: Path) -> Path:
    return encode(folder / "phone.wav", resample(clip, 8000), 8000, "pcm_mulaw")


def _one_channel(clip: np.ndarray, folder: Path) -> Path:
    return encode(folder / "left.wav", np.stack([clip, np.zeros_like(clip)], axis=1))


def _video(clip: np.ndarray, folder: Path) -> Path:
    return encode(folder / "episode.mp4", resample(clip, 44_100), 44_100, "aac", video="libx264")


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant", [_telephone, _one_channel, _video], ids=["8khz-mulaw", "stereo-left", "mp4"]
)
def test_exported_variants_still_align(tmp_path: Path, sample_samples, sample_truth, engine, variant) -> None:
    wav, text, truth = cut_clip(sample_samples, sample_truth, first=3, count=6, folder=tmp_path)
    from pipeline.audio import decode

    audio = variant(decode(wav), tmp_path)

    result = run(audio, text, tmp_path / "out", engine=engine)

    assert all(line.status is LineStatus.ALIGNED for line in result.alignment.lines)
    _starts_close(result, truth, share=5 / 6)


def test_silent_audio_is_refused_and_earlier_outputs_stay(tmp_path: Path, sample_truth, capsys) -> None:
    audio = write_wav(tmp_path / "muted.wav", np.zeros(20 * 16_000, dtype=np.float32))
    text = tmp_path / "muted.ru-en.txt"
    text.write_text(compose([Line(0, "Привет всем.", "Hello everyone.")]), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "muted.ru-en.srt"
    earlier.write_text("1\n00:00:01,000 --> 00:00:02,000\nПривет всем.\n", encoding="utf-8")

    code, err = _cli(capsys, str(audio), str(text), "--out", str(out))

    assert code == 5
    assert err == (
        f"subpipe: error: {audio}: is silent: nothing in it is louder than -60 dBFS; "
        "check that it is the episode's recording and that it plays"
    )
    assert earlier.read_text(encoding="utf-8").startswith("1\n00:00:01,000")
    assert _outputs(out) == ["muted.ru-en.srt"]


@pytest.mark.slow
def test_noise_without_speech_is_refused(
    tmp_path: Path, sample_samples, sample_truth, shared_model, capsys
) -> None:
    _, text, _ = cut_clip(sample_samples, sample_truth, first=3, count=4, folder=tmp_path)
    hiss = np.random.default_rng(4).standard_normal(20 * 16_000).astype(np.float32) * 0.003
    audio = write_wav(tmp_path / "hiss.wav", hiss)

    code, err = _cli(capsys, str(audio), str(text), "--out", str(tmp_path / "out"))

    assert code == 5 and "no speech" in err and str(audio) in err


# ---------------------------------------------------------------- one line, exit code, what to do


def _bytes(data: bytes) -> Callable[[Path, Path], Path]:
    def make(folder: Path, _clip: Path) -> Path:
        path = folder / "bad.input"
        path.write_bytes(data)
        return path

    return make


def _cut_in_half(folder: Path, clip: Path) -> Path:
    data = encode(folder / "whole.flac", _clip_samples(clip), codec="flac").read_bytes()
    (folder / "cut.flac").write_bytes(data[: len(data) // 2])
    return folder / "cut.flac"


def _clip_samples(clip: Path) -> np.ndarray:
    from pipeline.audio import decode

    return decode(clip)


TEXT = "Начали проводить публичные мероприятия,\n\nThey started to hold public events,\n"
BAD_TRANSCRIPTS = {
    "missing": (lambda folder, clip: folder / "nope.txt", 3, "not found; check the path"),
    "empty": (_bytes(b""), 4, "transcript is empty; give the episode's transcript file"),
    "blank-lines": (_bytes(b"\n \n\t\n\r\n" * 50), 4, "transcript is empty"),
    "binary": (_bytes(bytes(range(256)) * 8), 4, "binary file, not text; give the transcript's .txt"),
    # UTF-16, UTF-32 and KOI8-R are read (tests/test_transcript.py); this reads as no known encoding.
    "unknown-encoding": (_bytes(b"Hello \x98\x90\x81 world\n" * 3), 4, "unknown text encoding"),
    "only-punctuation": (_bytes("...\n\n— 2021 —\n\n!!!\n".encode()), 4, "no letters at all); check that"),
    "three-columns": (_bytes("Привет\tHello\tлишнее\n".encode()), 4, "expected 'Russian<TAB>English'"),
    "folder": (lambda folder, clip: folder, 4, "is a folder, not a file; give the transcript"),
}
BAD_AUDIO = {
    "missing": (lambda folder, clip: folder / "nope.mp3", 3, "audio file not found; check the path"),
    "zero-bytes": (_bytes(b""), 5, "audio file is empty (0 bytes); copy or export it again"),
    "junk": (_bytes(b"ID3 not really an mp3 " * 100), 5, "cannot decode audio"),
    "cut-short": (_cut_in_half, 5, "is cut short or damaged"),
    "silent-film": (
        lambda folder, clip: encode(folder / "film.mp4", None, video="libx264"),
        5,
        "is a video without a sound track; give the episode's audio",
    ),
}


@pytest.mark.parametrize(
    ("culprit", "case"),
    [("transcript", name) for name in BAD_TRANSCRIPTS] + [("audio", name) for name in BAD_AUDIO],
)
def test_bad_input_is_one_line_naming_the_file_and_what_to_do(
    tmp_path: Path, sample_samples, sample_truth, capsys, culprit: str, case: str
) -> None:
    clip, text, _ = cut_clip(sample_samples, sample_truth, first=0, count=2, folder=tmp_path)
    make, code, words = (BAD_TRANSCRIPTS if culprit == "transcript" else BAD_AUDIO)[case]
    bad = make(tmp_path, clip)
    audio, transcript_path = (clip, bad) if culprit == "transcript" else (bad, text)
    out = tmp_path / "out"

    got, err = _cli(capsys, str(audio), str(transcript_path), "--out", str(out))

    assert got == code
    assert len(err.splitlines()) == 1 and err.startswith(f"subpipe: error: {bad}")
    assert words in err
    assert not out.exists()  # failed before writing anything: not even the folder is left
