"""A user's mistake gives one line on stderr, a documented exit code and no output file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from tests.conftest import SAMPLE_AUDIO, SAMPLE_TRANSCRIPT


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(["run", *args, "--no-progress"])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    ("make_audio", "make_transcript", "code", "words", "culprit"),
    [
        (lambda d: d / "nope.ogg", lambda d: SAMPLE_TRANSCRIPT, 3, "not found", "audio"),
        (lambda d: SAMPLE_AUDIO, lambda d: d / "nope.txt", 3, "not found", "transcript"),
        (
            lambda d: _file(d / "junk.mp3", b"this is not audio at all" * 20),
            lambda d: SAMPLE_TRANSCRIPT,
            5,
            "decode",
            "audio",
        ),
        (lambda d: _file(d / "empty.wav", b""), lambda d: SAMPLE_TRANSCRIPT, 5, "empty", "audio"),
        (lambda d: SAMPLE_AUDIO, lambda d: _file(d / "empty.txt", b"\n\n  \n"), 4, "empty", "transcript"),
        (
            lambda d: SAMPLE_AUDIO,
            lambda d: _file(d / "bin.txt", bytes(range(256)) * 4),
            4,
            "binary",
            "transcript",
        ),
        (
            lambda d: SAMPLE_AUDIO,
            # UTF-16 and KOI8-R are read; bytes most code pages leave undefined read as none.
            lambda d: _file(d / "odd.txt", b"Hello \x98\x90\x81 world\n" * 3),
            4,
            "encoding",
            "transcript",
        ),
    ],
)
def test_bad_input_one_line_error(
    tmp_path: Path, capsys, make_audio, make_transcript, code: int, words: str, culprit: str
) -> None:
    audio, transcript = make_audio(tmp_path), make_transcript(tmp_path)
    out = tmp_path / "out"

    got, err = _run(capsys, str(audio), str(transcript), "--out", str(out))

    assert got == code
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("subpipe: error: ")
    assert words.lower() in err.lower()
    assert str(audio if culprit == "audio" else transcript) in err
    assert not out.exists() or not any(out.iterdir())


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_version_and_help_for_every_argument(capsys) -> None:
    import argparse

    from pipeline.cli import _parser

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("subpipe ")
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, f"subpipe {name}: {action.dest} has no help text"
    assert all(action.help for action in parser._actions)
