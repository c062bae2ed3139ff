"""Checking cues against a style profile: the rules ``subpipe lint`` and ``subpipe run`` report.

Rules: ``line_length``, ``line_count``, ``reading_speed_ru``/``_en``,
``min_duration``, ``max_duration``, ``overlap``, ``gap`` (closer than the
profile's frames) and ``chaining`` (a gap under ``chain_gap`` left open:
wider than the profile's frames by more than one frame, so files timed at
another frame rate are not flagged for a fraction of a frame).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.subtitles.formats._common import timestamp
from pipeline.subtitles.formats.reading import SubtitleFile, read_subtitles
from pipeline.subtitles.profiles import DEFAULT, Profile
from pipeline.types import Cue

TOLERANCE = 0.001  # subtitle files keep milliseconds, so finer differences are rounding


@dataclass(frozen=True, slots=True)
class Violation:
    cue_index: int  # 1-based, as in the SRT file
    start: float
    end: float
    rule: str
    detail: str


def chars(rows: Sequence[str]) -> int:
    """Characters a reader reads: every character of every row, spaces included."""
    return sum(len(r) for r in rows)


def check_cues(cues: Sequence[Cue], profile: Profile = DEFAULT) -> list[Violation]:
    """Every rule of ``profile`` that each cue breaks; an empty list means a clean file."""
    found: list[tuple[int, str, str]] = []
    for n, cue in enumerate(cues, start=1):
        dur = cue.end - cue.start
        for lang, rows in (("ru", cue.ru), ("en", cue.en)):
            limit, cps = profile.max_chars(lang), profile.max_cps(lang)
            longest = max((len(r) for r in rows), default=0)
            if longest > limit:
                found.append((n, "line_length", f"{lang} row of {longest} characters (max {limit})"))
            if len(rows) > profile.max_rows:
                found.append((n, "line_count", f"{len(rows)} {lang} rows (max {profile.max_rows})"))
            speed = chars(rows) / dur if dur > 0 else math.inf
            if chars(rows) and speed > cps + 1e-6:
                found.append((n, f"reading_speed_{lang}", f"{speed:.1f} characters/s (max {cps:g})"))
        if dur < profile.min_duration - TOLERANCE:
            found.append((n, "min_duration", f"{dur:.3f} s (min {profile.min_duration:.3f})"))
        if dur > profile.max_duration + TOLERANCE:
            found.append((n, "max_duration", f"{dur:.3f} s (max {profile.max_duration:.3f})"))
        if n < len(cues):
            nxt = cues[n]
            gap = nxt.start - cue.end
            if gap < -1e-6 or nxt.start < cue.start:
                found.append((n, "overlap", f"cue {n + 1} starts {-gap:.3f} s before this one ends"))
            elif gap < profile.min_gap - TOLERANCE:
                found.append((n, "gap", f"{gap:.3f} s to cue {n + 1} (min {profile.min_gap:.3f})"))
            elif profile.min_gap + 1 / profile.frame_rate + TOLERANCE < gap < profile.chain_gap - TOLERANCE:
                found.append(
                    (n, "chaining", f"{gap:.3f} s to cue {n + 1}: close gaps under {profile.chain_gap:g} s")
                )
    return [Violation(n, cues[n - 1].start, cues[n - 1].end, rule, detail) for n, rule, detail in found]


def reading_speed_share(cues: Sequence[Cue], profile: Profile = DEFAULT) -> dict[str, tuple[int, int]]:
    """Per language, how many cues exceed the reading speed, out of the cues showing it."""
    out = {}
    for lang in ("ru", "en"):
        shown = [c for c in cues if (c.ru if lang == "ru" else c.en)]
        over = {v.cue_index for v in check_cues(shown, profile) if v.rule == f"reading_speed_{lang}"}
        out[lang] = (len(over), len(shown))
    return out


@dataclass(frozen=True, slots=True)
class LintReport:
    file: SubtitleFile
    profile: Profile
    violations: tuple[Violation, ...]

    @property
    def clean(self) -> bool:
        return not self.violations


def lint(path: str | Path, profile: Profile = DEFAULT) -> LintReport:
    """Read a subtitle file as it is (timing faults kept) and check every cue against ``profile``."""
    file = read_subtitles(path)
    return LintReport(file, profile, tuple(check_cues(file.cues, profile)))


def describe(report: LintReport) -> list[str]:
    """One line per repair warning and per violation, each starting ``FILE:LINE:``.

    A warning about the whole file (its encoding, say) starts ``FILE:`` alone.
    """
    path, numbers = report.file.path, report.file.line_numbers
    out = [
        f"{path}{f':{w.line_no}' if w.line_no else ''}: warning: {w.message}" for w in report.file.warnings
    ]
    for v in report.violations:
        line = numbers[v.cue_index - 1] if v.cue_index <= len(numbers) else 0
        timing = f"{timestamp(v.start)} --> {timestamp(v.end)}"
        out.append(f"{path}:{line}: cue {v.cue_index} {timing}: {v.rule}: {v.detail}")
    return out


def summary(report: LintReport) -> str:
    """The closing line: counts by rule and the share of cues over the reading speed."""
    counts = Counter(v.rule for v in report.violations)
    by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
    speeds = "; ".join(
        f"{lang} {over}/{total} ({over / total:.1%})" if total else f"{lang} -"
        for lang, (over, total) in reading_speed_share(report.file.cues, report.profile).items()
    )
    found = _count(len(report.violations), "violation") + (f" ({by_rule})" if by_rule else "")
    cues = _count(len(report.file.cues), "cue")
    return (
        f"{report.file.path}: {cues}, {found} of profile {report.profile.name}; over reading speed: {speeds}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
