"""Turn aligned transcript lines into subtitle cues carrying both languages.

A cue always carries a Russian line together with its translation: long lines
are cut into several cues at the same place in both languages, short
neighbours are merged, then the timing rules of the profile are applied
(:mod:`pipeline.subtitles.retime`). Rows are broken by :mod:`pipeline.subtitles.rows`, and
:mod:`pipeline.subtitles.lint` checks the result.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.pace import spread
from pipeline.subtitles.lint import Violation, check_cues
from pipeline.subtitles.profiles import DEFAULT, Profile
from pipeline.subtitles.retime import retime
from pipeline.subtitles.rows import FORBIDDEN, break_cost, break_rows, min_rows
from pipeline.types import AlignedLine, Cue, LineStatus, Word

__all__ = ["DEFAULT", "Profile", "Violation", "break_rows", "build_cues", "check_cues"]

_VIOLATION = 1000.0
_WINDOW = 12  # characters the translation's cut may move from the proportional point


@dataclass(frozen=True, slots=True)
class _Piece:
    """Text and times bound for one cue, before merging and the timing rules."""

    start: float
    end: float
    ru: str
    en: str
    lines: tuple[int, ...]
    words: tuple[Word, ...] = ()
    whole: bool = True  # a whole transcript line, so free to merge with neighbours


def build_cues(lines: Sequence[AlignedLine], profile: Profile = DEFAULT) -> list[Cue]:
    """One cue per timed line, split when too long, merged when short, then timed."""
    pieces: list[_Piece] = []
    for al in sorted(lines, key=lambda al: al.line.index):  # transcript order, even where speech overlaps
        if al.start is None or al.end is None or al.status is LineStatus.UNSPOKEN:
            continue
        # A no_text line may still hold stray Russian; only aligned Russian is known to be heard.
        ru = " ".join(al.line.ru.split()) if al.status is LineStatus.ALIGNED else ""
        en = " ".join(al.line.en.split())
        if not (ru or en):
            continue
        piece = _Piece(al.start, max(al.end, al.start), ru, en, (al.line.index,), al.words)
        pieces.extend(_split(piece, profile) if _too_long(piece, profile) else [piece])
    return retime([_to_cue(g, profile) for g in _merge(_in_order(pieces), profile)], profile)


def _in_order(pieces: Sequence[_Piece]) -> list[_Piece]:
    """Pieces whose speech starts never go backwards.

    A line the aligner placed inside the previous one (overlapping speech)
    then follows it, so the text keeps the transcript's order and the timing
    rules see a sequence.
    """
    out: list[_Piece] = []
    floor = 0.0
    for p in pieces:
        start = max(p.start, floor)
        out.append(replace(p, start=start, end=max(p.end, start)) if start != p.start else p)
        floor = start
    return out


def _too_long(p: _Piece, profile: Profile) -> bool:
    return (
        p.end - p.start > profile.max_duration
        or min_rows(p.ru.split(), profile.ru_max_chars) > profile.max_rows
        or min_rows(p.en.split(), profile.en_max_chars) > profile.max_rows
    )


def _split(piece: _Piece, profile: Profile) -> list[_Piece]:
    """Cut a line at token boundaries of its main language (Russian when it has any).

    Each boundary of the main language has one matching cut in the other, so a
    dynamic program over main boundaries picks the cheapest sequence of cuts.
    """
    ru, en = piece.ru.split(), piece.en.split()
    if ru:
        main, other, main_max, other_max = ru, en, profile.ru_max_chars, profile.en_max_chars
    else:
        main, other, main_max, other_max = en, [], profile.en_max_chars, profile.ru_max_chars
    rows = profile.max_rows
    times = _token_times(main, piece, use_words=bool(ru))
    n = len(main)
    cuts = [_match_cut(main, other, b) for b in range(n + 1)]
    for b in range(1, n + 1):  # keep the other language in order whatever the local choice
        cuts[b] = max(cuts[b], cuts[b - 1])
    pre = [0]
    for t in main:
        pre.append(pre[-1] + len(t))
    best, back = [0.0] + [math.inf] * n, [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            width = pre[j] - pre[i] + j - i - 1
            if width > main_max * rows and j - i > 1:
                break
            start = piece.start if i == 0 else times[i][0]
            end = piece.end if j == n else times[j - 1][1]
            cost = best[i] + 50.0 + width * width / (main_max * rows)
            if min_rows(main[i:j], main_max) > rows:
                cost += _VIOLATION
            if other and cuts[i] == cuts[j]:
                cost += _VIOLATION / 3  # a piece without its translation
            elif min_rows(other[cuts[i] : cuts[j]], other_max) > rows:
                cost += _VIOLATION
            if end - start > profile.max_duration:
                cost += _VIOLATION
            if i > 0:
                pause = times[i][0] - times[i - 1][1]
                cost += 2 * break_cost(main[i - 1], main[i]) - 15.0 * min(max(pause, 0.0), 1.0)
                if 0 < cuts[i] < len(other):
                    cost += break_cost(other[cuts[i] - 1], other[cuts[i]])
            if cost < best[j]:
                best[j], back[j] = cost, i
    bounds = [n]
    while bounds[-1] > 0:
        bounds.append(back[bounds[-1]])
    bounds.reverse()
    matched = bool(ru) and len(piece.words) == n
    out = []
    for i, j in itertools.pairwise(bounds):
        main_text, other_text = " ".join(main[i:j]), " ".join(other[cuts[i] : cuts[j]])
        start = piece.start if i == 0 else times[i][0]
        end = max(start, piece.end if j == n else times[j - 1][1])
        ru_text, en_text = (main_text, other_text) if ru else ("", main_text)
        words = piece.words[i:j] if matched else ()
        out.append(_Piece(start, end, ru_text, en_text, piece.lines, words, whole=len(bounds) == 2))
    return out


def _token_times(tokens: Sequence[str], piece: _Piece, use_words: bool) -> list[tuple[float, float]]:
    """Times of each token: the aligner's word times, or by share of characters when missing."""
    lo, hi = piece.start, piece.end
    if use_words and len(piece.words) == len(tokens):
        out, floor = [], lo
        for w in piece.words:  # clamp into the line and keep them in order
            s = min(max(w.start, floor), hi)
            out.append((s, min(max(w.end, s), hi)))
            floor = s
        return out
    return spread(lo, hi, [len(t) for t in tokens], pause=1)


def _match_cut(main: Sequence[str], other: Sequence[str], b: int) -> int:
    """The token index in ``other`` matching a cut before ``main[b]``.

    Only cuts near the same share of the text are candidates (the nearest on
    each side at least), so a good clause end far away cannot drag the
    translation out of step; among them clause ends win.
    """
    m = len(other)
    if b == 0 or m == 0:
        return 0
    if b == len(main) or m == 1:
        return m if b == len(main) else 0
    main_total = sum(len(t) + 1 for t in main)
    other_total = sum(len(t) + 1 for t in other)
    target = sum(len(t) + 1 for t in main[:b]) / main_total * other_total
    positions = list(itertools.accumulate(len(t) + 1 for t in other[:-1]))  # before other[c], c >= 1
    below = max((c for c in range(1, m) if positions[c - 1] <= target), default=1)
    above = min((c for c in range(1, m) if positions[c - 1] >= target), default=m - 1)
    candidates = {below, above} | {c for c in range(1, m) if abs(positions[c - 1] - target) <= _WINDOW}
    return min(
        sorted(candidates),
        key=lambda c: abs(positions[c - 1] - target) / _WINDOW * 6.0 + break_cost(other[c - 1], other[c]),
    )


def _merge(pieces: Sequence[_Piece], profile: Profile) -> list[list[_Piece]]:
    cramped = _cramped(pieces, profile)
    groups: list[list[_Piece]] = []
    for i, p in enumerate(pieces):
        # a cramped piece may join the group before it or, if still alone, take the next piece in
        need = cramped[i] or (i > 0 and cramped[i - 1] and groups[-1] == [pieces[i - 1]])
        if groups and _can_merge(groups[-1], p, profile, need):
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def _cramped(pieces: Sequence[_Piece], profile: Profile) -> list[bool]:
    """Which pieces have too little room before the next one to stay up for the minimum duration.

    Such a piece may merge with a neighbour even when it is part of a split
    line: better one cue with a piece and a line than a flash nobody can read.
    """
    out = []
    for i, p in enumerate(pieces):
        nxt = pieces[i + 1].start if i + 1 < len(pieces) else math.inf
        prev = pieces[i - 1].end + profile.min_gap if i > 0 else 0.0
        room = nxt - profile.min_gap - max(p.start - profile.max_extend, prev)
        out.append(room < profile.min_duration)
    return out


def _can_merge(group: Sequence[_Piece], p: _Piece, profile: Profile, need: bool = False) -> bool:
    start, end = group[0].start, max(g.end for g in group)
    if p.start - end >= profile.merge_gap or max(end, p.end) - start > profile.max_duration:
        return False
    if not need:
        if not (p.whole and all(g.whole for g in group)):
            return False
        if min(end - start, p.end - p.start) >= profile.merge_below:
            return False
    rows = profile.max_rows
    ru = _group_rows([*(g.ru for g in group), p.ru], profile.ru_max_chars, rows)
    en = _group_rows([*(g.en for g in group), p.en], profile.en_max_chars, rows)
    return len(ru) <= rows and len(en) <= rows


def _group_rows(parts: Sequence[str], max_chars: int, max_rows: int) -> tuple[str, ...]:
    """One row per line when each fits, so readers see which translation goes with which line.

    A transcript line may end mid-phrase ("…работают с"); a row must not, so
    then the joined text is broken afresh if that fits as well.
    """
    parts = [t for t in parts if t]
    joined = break_rows(" ".join(parts), max_chars, max_rows)
    if 1 < len(parts) <= max_rows and all(len(t) <= max_chars for t in parts):
        pairs = itertools.pairwise(parts)
        sticky = any(break_cost(a.split()[-1], b.split()[0]) >= FORBIDDEN for a, b in pairs)
        if not (sticky and len(joined) <= max_rows):
            return tuple(parts)
    return joined


def _to_cue(group: Sequence[_Piece], profile: Profile) -> Cue:
    lines = tuple(dict.fromkeys(i for g in group for i in g.lines))
    return Cue(
        start=group[0].start,
        end=max(g.end for g in group),
        ru=_group_rows([g.ru for g in group], profile.ru_max_chars, profile.max_rows),
        en=_group_rows([g.en for g in group], profile.en_max_chars, profile.max_rows),
        lines=lines,
        words=tuple(w for g in group for w in g.words),
    )
