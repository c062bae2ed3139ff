"""Style profiles: the limits cues are built to and checked against.

A profile is a small TOML file whose keys are the fields of :class:`Profile`;
``extends = "NAME"`` starts from another profile, so a house style only lists
what it changes. Durations may be written as fractions (``"5/6"``). The
profiles shipped here live beside this module: ``netflix`` (the default),
``bbc`` and ``relaxed``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import InputNotFound, SubpipeError

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Profile:
    """Limits for both languages; times in seconds, speeds in characters per second.

    The defaults are the Netflix rules, the same as ``netflix.toml``.
    """

    ru_max_chars: int = 39
    en_max_chars: int = 42
    max_rows: int = 2
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    frame_rate: float = 24.0
    gap_frames: int = 2
    chain_gap: float = 0.5
    max_extend: float = 0.5
    ru_max_cps: float = 17.0
    en_max_cps: float = 20.0
    merge_gap: float = 1.0  # lines further apart than this are never merged
    merge_below: float = 2.0  # only a line (or group) shorter than this invites a merge
    name: str = "netflix"

    @property
    def min_gap(self) -> float:
        return self.gap_frames / self.frame_rate

    def max_chars(self, lang: str) -> int:
        return self.ru_max_chars if lang == "ru" else self.en_max_chars

    def max_cps(self, lang: str) -> float:
        return self.ru_max_cps if lang == "ru" else self.en_max_cps


DEFAULT = Profile()
_FIELDS = {f.name: f.type for f in dataclasses.fields(Profile)}


def names() -> list[str]:
    """The profiles shipped with subpipe."""
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


def load(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (``"netflix"``), or a profile file by path.

    Raises ``InputNotFound`` for a missing file and ``SubpipeError`` for an
    unknown name or a malformed file, naming the offending key.
    """
    return _load(str(name_or_path), ())


def _load(ref: str, seen: tuple[Path, ...]) -> Profile:
    path = _resolve(ref)
    if path in seen:
        raise SubpipeError(path, "profile extends itself (a cycle of 'extends')")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SubpipeError(path, f"cannot read the profile: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SubpipeError(path, f"not a valid TOML profile: {exc}") from exc
    parent = data.pop("extends", None)
    base = _load(str(parent), (*seen, path)) if parent is not None else DEFAULT
    values = {key: _value(path, key, value) for key, value in data.items()}
    values.setdefault("name", path.stem)
    profile = dataclasses.replace(base, **values)
    _check(path, profile)
    return profile


def _resolve(ref: str) -> Path:
    shipped = FOLDER / f"{ref}.toml"
    if "/" not in ref and not ref.endswith(".toml") and shipped.is_file():
        return shipped
    path = Path(ref)
    if path.is_file():
        return path
    if "/" in ref or path.suffix:
        raise InputNotFound(path, "profile file not found")
    raise SubpipeError(None, f"unknown profile {ref!r}; choose one of {', '.join(names())} or give a file")


def _value(path: Path, key: str, value: Any) -> Any:
    kind = _FIELDS.get(key)
    if kind is None:
        known = ", ".join(sorted(_FIELDS))
        raise SubpipeError(path, f"unknown profile key {key!r}; known keys: {known}")
    if kind == "str":
        if not isinstance(value, str):
            raise SubpipeError(path, f"{key} must be text, got {value!r}")
        return value
    number = _number(value)
    if number is None or (kind == "int" and number != int(number)):
        raise SubpipeError(path, f"{key} must be {'a whole' if kind == 'int' else 'a'} number, got {value!r}")
    return int(number) if kind == "int" else float(number)


def _number(value: Any) -> Fraction | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(value.replace(" ", ""))
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _check(path: Path, p: Profile) -> None:
    """Limits that would make cue building impossible are refused up front."""
    problems = []
    if min(p.ru_max_chars, p.en_max_chars, p.max_rows, p.gap_frames) < 1:
        problems.append("row lengths, max_rows and gap_frames must be at least 1")
    if min(p.frame_rate, p.ru_max_cps, p.en_max_cps, p.min_duration) <= 0:
        problems.append("frame_rate, reading speeds and min_duration must be positive")
    if p.max_duration <= p.min_duration:
        problems.append("max_duration must be longer than min_duration")
    if min(p.chain_gap, p.max_extend, p.merge_gap, p.merge_below) < 0:
        problems.append("chain_gap, max_extend, merge_gap and merge_below cannot be negative")
    if problems:
        raise SubpipeError(path, "bad profile: " + "; ".join(problems))
