"""Checking cues against a style profile: the rules ``subpipe lint`` and ``subpipe run`` report.

Rules: ``line_length``, ``line_count``, ``reading_speed_ru``/``_en``,
``min_duration`` (a cue of no length included), ``max_duration``,
``end_before_start``, ``overlap``, ``gap`` (closer than the profile's
frames) and ``chaining`` (a gap under ``chain_gap`` left open: wider than the
profile's frames by more than one frame, so files timed at another frame rate
are not flagged for a fraction of a frame).

Each row is checked against the limits of its own language, in the order
the file shows the rows; the reader tells the language (see
:func:`pipeline.subtitles.formats._common.row_languages`), or ``--lang``
says it for the whole file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.subtitles.formats._common import ReadWarning, timestamp
from pipeline.subtitles.formats.reading import SubtitleFile, read_subtitles
from pipeline.subtitles.profiles import DEFAULT, Profile
from pipeline.types import Cue

TOLERANCE = 0.001  # subtitle files keep milliseconds, so finer differences are rounding
LANGS = {"auto": None, "ru": ("ru",), "en": ("en",)}


@dataclass(frozen=True, slots=True)
class Violation:
    cue_index: int  # 1-based: the cue's place in its file, cues without text counted
    start: float
    end: float
    rule: str
    detail: str


@dataclass(frozen=True, slots=True)
class Shown:
    """A cue as the checks see it: its number in the file, its times and its rows in order."""

    number: int
    start: float
    end: float
    rows: tuple[tuple[str, str], ...]  # (language, text)


def chars(rows: Iterable[str]) -> int:
    """Characters a reader reads: every character of every row, spaces included."""
    return sum(len(r) for r in rows)


def check_cues(cues: Sequence[Cue], profile: Profile = DEFAULT) -> list[Violation]:
    """Every rule of ``profile`` that each cue breaks; an empty list means a clean file.

    Russian rows come before English ones, as subpipe shows them.
    """
    return check_shown(_shown(cues), profile)


def _shown(cues: Sequence[Cue]) -> list[Shown]:
    return [
        Shown(n, cue.start, cue.end, (*(("ru", r) for r in cue.ru), *(("en", r) for r in cue.en)))
        for n, cue in enumerate(cues, start=1)
    ]


def check_shown(cues: Sequence[Shown], profile: Profile = DEFAULT) -> list[Violation]:
    """The rules over cues with text, in file order; neighbours are the cues before and after."""
    found: list[Violation] = []
    for k, cue in enumerate(cues):

        def add(rule: str, detail: str, cue: Shown = cue) -> None:
            found.append(Violation(cue.number, cue.start, cue.end, rule, detail))

        dur = cue.end - cue.start
        for row_no, (lang, row) in enumerate(cue.rows, start=1):
            limit = profile.max_chars(lang)
            if len(row) > limit:
                add("line_length", f"{lang} row {row_no} of {len(row)} characters (max {limit})")
        for lang in ("ru", "en"):
            rows = [row for row_lang, row in cue.rows if row_lang == lang]
            if len(rows) > profile.max_rows:
                add("line_count", f"{len(rows)} {lang} rows (max {profile.max_rows})")
            cps = profile.max_cps(lang)
            if rows and dur > TOLERANCE / 2 and chars(rows) / dur > cps + 1e-6:
                add(f"reading_speed_{lang}", f"{chars(rows) / dur:.1f} characters/s (max {cps:g})")
        if dur < -TOLERANCE / 2:
            add("end_before_start", f"ends {-dur:.3f} s before it starts")
        elif dur <= TOLERANCE / 2:
            add("min_duration", f"no duration: starts and ends at {timestamp(cue.start)}")
        elif dur < profile.min_duration - TOLERANCE:
            add("min_duration", f"{dur:.3f} s (min {profile.min_duration:.3f})")
        if dur > profile.max_duration + TOLERANCE:
            add("max_duration", f"{dur:.3f} s (max {profile.max_duration:.3f})")
        if k + 1 < len(cues):
            nxt = cues[k + 1]
            gap = nxt.start - cue.end
            if gap < -1e-6 or nxt.start < cue.start:
                add("overlap", f"cue {nxt.number} starts {-gap:.3f} s before this one ends")
            elif gap < profile.min_gap - TOLERANCE:
                add("gap", f"{gap:.3f} s to cue {nxt.number} (min {profile.min_gap:.3f})")
            elif profile.min_gap + 1 / profile.frame_rate + TOLERANCE < gap < profile.chain_gap - TOLERANCE:
                add("chaining", f"{gap:.3f} s to cue {nxt.number}: close gaps under {profile.chain_gap:g} s")
    return found


def reading_speed_share(cues: Sequence[Cue], profile: Profile = DEFAULT) -> dict[str, tuple[int, int]]:
    """Per language, how many cues exceed the reading speed, out of the cues showing it."""
    return _speed_share(_shown(cues), check_cues(cues, profile))


def _speed_share(cues: Sequence[Shown], violations: Sequence[Violation]) -> dict[str, tuple[int, int]]:
    out = {}
    for lang in ("ru", "en"):
        shown = {c.number for c in cues if any(row_lang == lang for row_lang, _ in c.rows)}
        over = {v.cue_index for v in violations if v.rule == f"reading_speed_{lang}"}
        out[lang] = (len(over & shown), len(shown))
    return out


@dataclass(frozen=True, slots=True)
class LintReport:
    file: SubtitleFile
    profile: Profile
    violations: tuple[Violation, ...]
    shown: tuple[Shown, ...] = ()

    @property
    def clean(self) -> bool:
        """No rule broken and no cue lost: a player shows every cue of the file as it should."""
        return not self.violations and not self.file.dropped


def lint(
    path: str | Path, profile: Profile = DEFAULT, *, lang: str = "auto", encoding: str | None = None
) -> LintReport:
    """Read a subtitle file as it is (timing faults kept) and check every cue with text against ``profile``.

    ``lang`` is "ru" or "en" for a file in that language, "auto" to tell each
    row's language from the file; ``encoding`` overrides the detected one.
    """
    file = read_subtitles(path, LANGS[lang], encoding=encoding)
    shown = tuple(
        Shown(n, cue.start, cue.end, rows)
        for n, (cue, rows) in enumerate(zip(file.cues, file.rows), start=1)
        if rows
    )
    return LintReport(file, profile, tuple(check_shown(shown, profile)), shown)


def describe(report: LintReport) -> list[str]:
    """One line per kind of repair warning and per violation, each starting ``FILE:LINE:``.

    A warning that recurs is one line: how many, and the first of them. A
    warning about the whole file (its encoding, say) starts ``FILE:`` alone.
    """
    path = report.file.path
    lines = {n: report.file.line_numbers[n - 1] for n in range(1, len(report.file.line_numbers) + 1)}
    out = [_warning_line(path, group) for group in _grouped(report.file.warnings)]
    for v in report.violations:
        timing = f"{timestamp(v.start)} --> {timestamp(v.end)}"
        out.append(f"{path}:{lines.get(v.cue_index, 0)}: cue {v.cue_index} {timing}: {v.rule}: {v.detail}")
    return out


def _grouped(warnings: Sequence[ReadWarning]) -> list[list[ReadWarning]]:
    """Warnings of one kind together, in the order each kind first turns up."""
    groups: dict[str, list[ReadWarning]] = {}
    for n, warning in enumerate(warnings):
        groups.setdefault(warning.kind or f"#{n}", []).append(warning)
    return list(groups.values())


def _warning_line(path: str, group: Sequence[ReadWarning]) -> str:
    first = group[0]
    where = f"{path}:{first.line_no}" if first.line_no else path
    if len(group) == 1:
        return f"{where}: warning: {first.message}"
    return f"{where}: warning: {len(group)} {first.kind}, first at line {first.line_no}: {first.message}"


def summary(report: LintReport) -> str:
    """The closing line: counts by rule and the share of cues over the reading speed."""
    counts = Counter(v.rule for v in report.violations)
    by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
    speeds = "; ".join(
        f"{lang} {over}/{total} ({over / total:.1%})" if total else f"{lang} -"
        for lang, (over, total) in _speed_share(report.shown, report.violations).items()
    )
    found = count(len(report.violations), "violation") + (f" ({by_rule})" if by_rule else "")
    cues = count(len(report.file.cues), "cue")
    empty = len(report.file.cues) - len(report.shown)
    if empty:
        cues += f" ({empty} without text)"
    if report.file.dropped:
        cues += f", {count(report.file.dropped, 'unreadable cue')} dropped"
    return (
        f"{report.file.path}: {cues}, {found} of profile {report.profile.name}; over reading speed: {speeds}"
    )


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
