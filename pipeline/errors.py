"""Exceptions that carry what went wrong; only ``cli`` turns them into messages.

Each error knows the file (and line, where there is one) it concerns and the
exit code the CLI uses for it. The README's exit-code table lists them.
"""

from __future__ import annotations

from pathlib import Path


class SubpipeError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    exit_code = 1

    def __init__(self, path: str | Path | None, problem: str, line_no: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        self.line_no = line_no
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = self.path
        if where and self.line_no:
            where = f"{where}:{self.line_no}"
        return f"{where}: {self.problem}" if where else self.problem


class InputNotFound(SubpipeError):
    exit_code = 3


class TranscriptError(SubpipeError):
    """The transcript cannot be read or parsed."""

    exit_code = 4


class AudioError(SubpipeError):
    """The audio cannot be decoded or holds no usable sound."""

    exit_code = 5


class ModelError(SubpipeError):
    """The Whisper model is missing, damaged or cannot be loaded."""

    exit_code = 6


class AlignmentError(SubpipeError):
    """The transcript and the audio do not belong together."""

    exit_code = 7


class SubtitleError(SubpipeError):
    """A subtitle file cannot be read."""

    exit_code = 8


class OutputError(SubpipeError):
    """The output cannot be written (read-only folder, full disk, locked)."""

    exit_code = 9


class BatchError(SubpipeError):
    """Some episodes of a batch failed; the others were finished (details in batch.json)."""

    exit_code = 11


class BatchLocked(SubpipeError):
    """Another batch is writing to the same output folder."""

    exit_code = 12
