"""Issue 17's cases, one test each: wrong-kind transcripts, cut-short audio, option errors.

Each failed on main before the change (the signal case is in test_reliability_signals.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.transcript import read
from tests.conftest import ROOT, SAMPLE_AUDIO, SAMPLE_TRANSCRIPT


def _usage_error(capsys, *argv: str) -> str:
    """The one line argparse prints for ``argv`` (exit 2)."""
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("usage: subpipe ")
    return err[-1]


def _refused_before_audio(capsys, monkeypatch, transcript: Path, out: Path) -> tuple[int, str]:
    """Run the CLI on the sample's audio; the audio must never be decoded."""

    def decode(path: object) -> None:
        raise AssertionError("the audio was decoded before the transcript was checked")

    monkeypatch.setattr("pipeline.audio.decode", decode)
    code = main(["run", str(SAMPLE_AUDIO), str(transcript), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not out.exists()
    return code, err


# ---------------------------------------------------------------- 2, 3, 10: the transcript's kind


def test_2_an_english_only_transcript_is_refused_before_any_audio_work(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    english = tmp_path / "sample.en.txt"
    english.write_text("\n\n".join(line.en for line in read(SAMPLE_TRANSCRIPT) if line.en), encoding="utf-8")

    code, err = _refused_before_audio(capsys, monkeypatch, english, tmp_path / "out")

    assert code == 4
    assert err == (
        f"subpipe: error: {english}: has no Russian: all its 47 lines are English; "
        "expected the Russian lines the audio speaks, each followed by its English translation"
    )


def _srt(lines: list, dot: bool = False) -> str:
    cues = []
    for k, line in enumerate(lines):
        start, end = 2.5 * k, 2.5 * k + 2.0
        stamp = [
            f"00:{int(t) // 60:02d}:{int(t) % 60:02d}{'.' if dot else ','}{round(t % 1 * 1000):03d}"
            for t in (start, end)
        ]
        cues.append(f"{k + 1}\n{stamp[0]} --> {stamp[1]}\n{line.ru}\n<i>{line.en}</i>\n")
    return ("WEBVTT\n\n" if dot else "") + "\n".join(cues)


@pytest.mark.parametrize(
    ("name", "webvtt"), [("sample.srt", False), ("sample.vtt", True), ("sample.txt", False)], ids=str
)
def test_3_a_subtitle_file_given_as_the_transcript_gives_its_cues_text_not_its_numbers_and_times(
    tmp_path: Path, name: str, webvtt: bool
) -> None:
    """Issue 18 made subtitle files transcripts (refused until then, the issue asked): by name or content."""
    lines = [line for line in read(SAMPLE_TRANSCRIPT) if line.ru and line.en][:20]
    subtitles = tmp_path / name  # sample.txt: an SRT file under a transcript's name
    subtitles.write_text(_srt(lines, dot=webvtt), encoding="utf-8")

    got = read(subtitles)

    # Cue numbers and timings used to become lines (40 "unspoken"), italics nested tags.
    assert [(line.ru, line.en) for line in got] == [(line.ru, line.en) for line in lines]


def test_10_an_english_first_transcript_is_refused_rather_than_paired_one_line_off(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    pairs = [line for line in read(SAMPLE_TRANSCRIPT) if line.ru and line.en]
    swapped = tmp_path / "english-first.txt"
    swapped.write_text("\n\n".join(f"{line.en}\n{line.ru}" for line in pairs) + "\n", encoding="utf-8")

    code, err = _refused_before_audio(capsys, monkeypatch, swapped, tmp_path / "out")

    assert code == 4
    last = 3 * len(pairs) - 1  # each pair takes two rows and a blank one
    assert err == (
        f"subpipe: error: {swapped}: puts each English line before its Russian one (line 1 is English, "
        f"line {last} Russian), so every Russian line would get the next English line; "
        "put each Russian line first, then its English"
    )


def test_10_a_russian_first_transcript_with_an_english_title_is_still_read() -> None:
    """The same shape (English alone first, Russian alone last), but the lengths show true pairs."""
    from pipeline.transcript import check_languages, parse

    pairs = [line for line in read(SAMPLE_TRANSCRIPT) if line.ru and line.en]
    text = "Digital rights, episode 7\n\n" + "\n\n".join(f"{p.ru}\n{p.en}" for p in pairs) + "\n\nКонец.\n"
    lines = parse(text)
    assert not lines[0].ru and not lines[-1].en
    check_languages(lines)  # raises nothing


# ---------------------------------------------------------------- 6, 7, 8, 9, 10: options


def test_6_an_unknown_language_is_a_usage_error(capsys) -> None:
    line = _usage_error(capsys, "run", "a.mp3", "a.txt", "--language", "xx")
    assert line == (
        "subpipe run: error: argument --language: 'xx' is not a language subpipe can align (it reads "
        "the transcript's spoken lines by their Cyrillic letters); use one of ru, uk, be, bg, mk, sr, kk, "
        "tt, ba, tg, mn"
    )


def test_6_the_cyrillic_languages_are_whisper_languages() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    from pipeline.whisper.options import LANGUAGES

    assert set(LANGUAGES) <= set(_LANGUAGE_CODES)


def _gpu() -> bool:
    import ctranslate2

    return ctranslate2.get_cuda_device_count() > 0


@pytest.mark.parametrize("command", ["run", "batch"])
def test_7_device_and_compute_type_errors_name_the_cause_and_the_fix(capsys, command: str) -> None:
    inputs = ["a.mp3", "a.txt"] if command == "run" else ["episodes/"]
    line = _usage_error(capsys, command, *inputs, "--compute-type", "bogus")
    assert line.startswith(f"subpipe {command}: error: argument --compute-type: invalid choice: 'bogus'")
    if _gpu():
        pytest.skip("a GPU is here: --device cuda and float16 are fine")
    line = _usage_error(capsys, command, *inputs, "--device", "cuda")
    assert line == f"subpipe {command}: error: argument --device: no CUDA device found; use --device cpu"
    line = _usage_error(capsys, command, *inputs, "--compute-type", "float16")
    assert line.startswith(
        f"subpipe {command}: error: argument --compute-type: float16 is not supported on the CPU of this "
        "machine; use one of "
    )
    assert line.endswith(", or leave out --compute-type") and "int8" in line


def test_7_the_engine_says_the_same_to_a_program_that_asks_for_cuda() -> None:
    from pipeline.errors import ModelError
    from pipeline.whisper import asr

    if _gpu():
        pytest.skip("a GPU is here")
    with pytest.raises(ModelError) as caught:
        asr.load(None, device="cuda")
    assert caught.value.message == "no CUDA device found; use --device cpu"


def test_8_a_model_name_that_is_not_here_without_network_says_so_in_one_line(tmp_path: Path) -> None:
    # No cached models, and no way to download them: what a machine without network sees.
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "pipeline", "run", str(SAMPLE_AUDIO), str(SAMPLE_TRANSCRIPT)]
    command += ["--out", str(tmp_path / "out"), "--no-progress", "--no-cache", "--model", "small"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 6
    assert done.stderr == (
        "subpipe: error: model 'small' is not on this machine and there is no network; "
        "give a local folder or run `make model`\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["run", "a.mp3", "a.txt", "--batch-size", "0"],
            "argument --batch-size: 0 is less than 1; give 1 or more",
        ),
        (
            ["run", "a.mp3", "a.txt", "--batch-size", "-3"],
            "argument --batch-size: -3 is less than 1; give 1 or more",
        ),
        (
            ["qa", "a.mp3", "a.txt", "--batch-size", "two"],
            "argument --batch-size: 'two' is not a whole number",
        ),
        (["batch", "in", "--jobs", "0"], "argument --jobs/-j: 0 is less than 1; give 1 or more"),
        (["batch", "in", "-j", "-2"], "argument --jobs/-j: -2 is less than 1; give 1 or more"),
        (
            ["run", "a.mp3", "a.txt", "--wait", "-1"],
            "argument --wait: -1 is not a number of seconds, 0 or more",
        ),
        (["batch", "in", "--wait", "nan"], "argument --wait: nan is not a number of seconds, 0 or more"),
    ],
)
def test_9_numeric_options_are_checked_as_they_are_parsed(capsys, argv: list[str], line: str) -> None:
    assert _usage_error(capsys, *argv) == f"subpipe {argv[0]}: error: {line}"


def test_10_a_cache_or_output_folder_that_is_a_file_is_refused_at_once(tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    line = _usage_error(capsys, "run", "a.mp3", "a.txt", "--cache", str(a_file))
    assert (
        line
        == f"subpipe run: error: argument --cache: {a_file} is a file; give a folder (it is made if missing)"
    )
    line = _usage_error(capsys, "batch", "in", str(a_file))
    assert (
        line
        == f"subpipe batch: error: argument OUT: {a_file} is a file; give a folder (it is made if missing)"
    )
    inside = a_file / "out"
    line = _usage_error(capsys, "run", "a.mp3", "a.txt", "--out", str(inside))
    assert line == (
        f"subpipe run: error: argument --out: {inside} is inside {a_file}, which is a file; "
        "give a folder (it is made if missing)"
    )


# ---------------------------------------------------------------- 4: cut short


def _mp3_without_length(path: Path, samples) -> Path:
    """An MP3 with no Xing/Info header (as streaming encoders write them): its length is nowhere."""
    import av

    from tests.test_reliability_media import _encode_sound

    with av.open(str(path), "w", options={"write_xing": "0"}) as out:
        _encode_sound(out, out.add_stream("libmp3lame", rate=16000, layout="mono"), samples, 16000)
    return path


def _frame_starts(path: Path) -> list[int]:
    """Where each of the file's frames begins, as ffmpeg's demuxer finds them."""
    import av

    with av.open(str(path)) as container:
        return [packet.pos for packet in container.demux() if packet.size]


@pytest.fixture(scope="module")
def minute(sample_samples):
    return sample_samples[: 60 * 16000]


@pytest.mark.parametrize("kind", ["ogg-opus", "mp3-no-xing", "aac-adts"])
def test_4_a_truncated_ogg_mp3_or_aac_is_refused_as_cut_short(
    tmp_path: Path, capsys, minute, kind: str
) -> None:
    from pipeline.audio import decode
    from tests.test_reliability_media import encode, resample

    if kind == "ogg-opus":
        whole = encode(tmp_path / "whole.ogg", resample(minute, 48000), 48000, codec="libopus")
    elif kind == "mp3-no-xing":
        whole = _mp3_without_length(tmp_path / "whole.mp3", minute)
    else:
        whole = encode(tmp_path / "whole.aac", minute, codec="aac")
    assert abs(decode(whole).size / 16000 - 60) < 0.2  # the whole file is fine
    cut = tmp_path / f"cut{whole.suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])  # an interrupted download

    code = main(["run", str(cut), str(SAMPLE_TRANSCRIPT), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()

    assert code == 5 and len(err.splitlines()) == 1
    assert err.startswith(f"subpipe: error: {cut}: is cut short: it breaks off in the middle of ")
    assert err.endswith("(an interrupted copy or download?); copy or export the file again")
    assert not (tmp_path / "out").exists()


def test_4_whole_files_with_tags_after_their_last_frame_are_not_taken_for_cut(tmp_path: Path, minute) -> None:
    from pipeline.audio import decode

    whole = _mp3_without_length(tmp_path / "whole.mp3", minute)
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(whole.read_bytes() + b"TAG" + b"Title".ljust(125, b"\0"))  # an ID3v1 tag
    assert abs(decode(tagged).size / 16000 - 60) < 0.2


@pytest.mark.parametrize("asr", [True, False], ids=["run", "no-asr"])
def test_4_a_cut_between_two_frames_is_told_by_the_run_from_the_unheard_end(
    tmp_path: Path, capsys, sample_samples, sample_truth, asr: bool
) -> None:
    import re

    from pipeline.audio import decode
    from tests.clips import cut_clip

    audio, transcript, lines = cut_clip(sample_samples, sample_truth, first=0, count=15, folder=tmp_path)
    mp3 = _mp3_without_length(tmp_path / "clip.mp3", decode(audio))
    starts = _frame_starts(mp3)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(mp3.read_bytes()[: starts[len(starts) // 3]])  # between two frames: nothing breaks off
    length = decode(cut).size / 16000
    said = sum(1 for line in lines if line["end"] < length)  # the lines whose speech the cut file holds

    argv = ["run", str(cut), str(transcript), "--out", str(tmp_path / "out"), "--no-progress"]
    code = main(argv + ([] if asr else ["--no-asr"]))
    err = capsys.readouterr().err.strip()

    assert code == 5, err
    found = re.fullmatch(
        rf"subpipe: error: {re.escape(str(cut))}: ends at ([\d.]+) s in mid-speech, and the last (\d+) of "
        "the transcript's 15 lines are not in it: the audio is cut short, or the transcript is a longer "
        "recording's; copy or export the audio again, or give its own transcript",
        err,
    )
    assert found, err
    assert float(found[1]) == round(length, 1)
    assert int(found[2]) in (15 - said, 15 - said - 1)  # the line the cut falls in may be heard in part
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]


# ---------------------------------------------------------------- 5: --no-asr, a transcript of something else


def _music(seconds: float) -> np.ndarray:
    """Chords that change twice a second over a beat: sound, but no speech."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    notes = 220 * 2 ** (rng.integers(0, 12, size=(len(t) // 8000 + 1, 3)) / 12)
    tones = sum(
        np.sin(2 * np.pi * np.cumsum(np.repeat(notes[:, j], 8000)[: len(t)]) / 16000) for j in range(3)
    )
    beat = 0.05 * rng.standard_normal(len(t)) * (np.mod(t, 0.5) < 0.05)
    return (0.1 * tones * (1 + 0.5 * np.sin(2 * np.pi * 2 * t)) + beat).astype(np.float32)


@pytest.mark.parametrize("audio", ["another part of the talk", "music"])
def test_5_no_asr_refuses_a_transcript_the_audio_does_not_speak_with_exit_7(
    tmp_path: Path, capsys, sample_samples, audio: str
) -> None:
    from pipeline.transcript import compose
    from pipeline.types import Line
    from tests.clips import write_wav
    from tests.conftest import SEED

    if audio == "music":
        sound, lines = write_wav(tmp_path / "music.wav", _music(80.0)), read(SAMPLE_TRANSCRIPT)[:22]
    else:  # 80 s of the sample's audio with 22 lines from much later in the same talk: same voice, topic
        sound = write_wav(tmp_path / "sample80.wav", sample_samples[: 80 * 16000])
        later = [line for line in read(SEED) if line.ru][400:422]
        lines = [Line(k, line.ru, line.en) for k, line in enumerate(later)]
    transcript = tmp_path / "other.ru-en.txt"
    transcript.write_text(compose(lines), encoding="utf-8")

    argv = ["run", str(sound), str(transcript), "--out", str(tmp_path / "out"), "--no-progress", "--no-asr"]
    code = main(argv)
    err = capsys.readouterr().err.strip()

    assert code == 7, err
    assert err.startswith(f"subpipe: error: {transcript}: does not match {sound.name} (read along it, ")
    assert err.endswith("; check that it is this episode's transcript") and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
