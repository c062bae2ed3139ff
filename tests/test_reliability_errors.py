"""Every way subpipe fails ends in one line, a documented exit code, and a traceback only on request."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from pipeline import cli, errors
from pipeline.cli import main
from pipeline.errors import SubpipeError
from tests.conftest import ROOT

DOC = ROOT / "docs" / "exit-codes.md"
ROW = re.compile(r"^\|\s*(\d+)\s*\|(.*)\|(.*)\|(.*)\|\s*$")


def _error_classes() -> list[type[SubpipeError]]:
    found = [SubpipeError]
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, SubpipeError) and value is not SubpipeError:
            found.append(value)
    return found


def _documented() -> dict[int, list[str]]:
    """Each code in the table with the names in its `Raised as` column."""
    table: dict[int, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            code = int(match.group(1))
            assert code not in table, f"code {code} listed twice"
            table[code] = re.findall(r"`(\w+)`", match.group(3))
    return table


def test_the_readme_shows_the_same_table() -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if ROW.match(line)]
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert rows and all(row in readme for row in rows)


def test_the_exit_code_table_matches_the_code() -> None:
    table = _documented()
    documented = {name: code for code, names in table.items() for name in names}

    classes = {cls.__name__: cls.exit_code for cls in _error_classes()}
    constants = {name: getattr(cli, name) for name in dir(cli) if name.startswith("EXIT_")}
    assert {name: documented.get(name) for name in classes} == classes
    assert {name: documented.get(name) for name in constants} == constants
    assert set(documented) == set(classes) | set(constants)  # nothing documented that does not exist
    assert set(table) == {0, *classes.values(), *constants.values()}


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
def test_each_error_is_one_line_naming_the_file(cls: type[SubpipeError], monkeypatch, capsys) -> None:
    def fail(args: object) -> int:
        raise cls(Path("/episodes/ep07.mp3"), "is wrong in some way; do this about it", 12)

    monkeypatch.setattr(cli, "_run", fail)
    code = main(["run", "a.mp3", "a.txt"])
    err = capsys.readouterr().err

    assert code == cls.exit_code
    assert err == "subpipe: error: /episodes/ep07.mp3:12: is wrong in some way; do this about it\n"


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (
            MemoryError(),
            1,
            "subpipe: error: out of memory; close other programs, or split the audio into parts",
        ),
        (
            OSError(errno.EIO, "Input/output error", "/mnt/usb/ep07.mp3"),
            1,
            "subpipe: error: /mnt/usb/ep07.mp3: Input/output error; check the file and its disk",
        ),
        (
            ZeroDivisionError("float division by zero"),
            70,
            "subpipe: error: internal error (ZeroDivisionError: float division by zero); this is a bug: "
            "run again with --verbose and report the traceback",
        ),
    ],
    ids=["memory", "io", "bug"],
)
def test_unexpected_failures_are_one_line_too(
    raised: BaseException, code: int, line: str, monkeypatch, capsys
) -> None:
    def fail(args: object) -> int:
        raise raised

    monkeypatch.setattr(cli, "_run", fail)
    assert main(["run", "a.mp3", "a.txt"]) == code
    assert capsys.readouterr().err == line + "\n"

    assert main(["--verbose", "run", "a.mp3", "a.txt"]) == code
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and err.endswith(line + "\n")


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", "only-audio.mp3"])
    assert caught.value.code == cli.EXIT_USAGE == 2
    assert "the following arguments are required: transcript" in capsys.readouterr().err
