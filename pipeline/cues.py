"""Turn aligned transcript lines into subtitle cues, and check cues against a style profile.

A cue always carries a Russian line together with its translation: long lines
are cut into several cues at the same place in both languages, short
neighbours are merged, then the timing rules of the profile are applied.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.types import AlignedLine, Cue, LineStatus, Word


@dataclass(frozen=True, slots=True)
class Profile:
    """Netflix-style limits; times in seconds, speeds in characters per second."""

    ru_max_chars: int = 39
    en_max_chars: int = 42
    max_rows: int = 2
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    min_gap: float = 2 / 24
    chain_gap: float = 0.5
    max_extend: float = 0.5
    ru_max_cps: float = 17.0
    en_max_cps: float = 20.0
    merge_gap: float = 1.0  # lines further apart than this are never merged
    merge_below: float = 2.0  # only a line (or group) shorter than this invites a merge


DEFAULT = Profile()


def _word_set(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


_CONJ_PREP = _word_set(
    "и а но или что чтобы как в во на с со к ко по о об от до из за для без у при про через",
    "and but or that which to in on at of for with from by about",
)
# A row never ends on one of these: they belong with the word after them.
_STICKY = _CONJ_PREP | _word_set("не ни a an the")
_PUNCT = ".,;:!?…—–-\"'«»“”„()[]"
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,:\-–]\d+)*%?$")
_FORBIDDEN = 40.0  # larger than any balance gain, so only taken when nothing else fits
_VIOLATION = 1000.0
_WINDOW = 12  # characters the translation's cut may move from the proportional point


def break_rows(text: str, max_chars: int, max_rows: int = 2) -> tuple[str, ...]:
    """Break ``text`` into display rows of at most ``max_chars``, in as few rows as it allows.

    More than ``max_rows`` rows come back only when the text cannot fit; the
    caller then splits the cue.
    """
    words = text.split()
    joined = " ".join(words)
    if len(joined) <= max_chars:
        return (joined,) if words else ()
    starts = _first_fit([len(w) for w in words], max_chars)
    if len(starts) > max_rows:
        # Only a signal to split; the rows are not shown, so first-fit is enough.
        return tuple(" ".join(words[a:b]) for a, b in itertools.pairwise([*starts, len(words)]))
    return _layout(words, max_chars, len(starts))


def _first_fit(lengths: Sequence[int], max_chars: int) -> list[int]:
    """Where each row starts when rows are filled in turn; no breaking needs fewer rows."""
    starts: list[int] = []
    width = 0
    for i, n in enumerate(lengths):
        if starts and width + 1 + n <= max_chars:
            width += 1 + n
        else:
            starts.append(i)
            width = n
    return starts


def _min_rows(tokens: Sequence[str], max_chars: int) -> int:
    return len(_first_fit([len(t) for t in tokens], max_chars))


def _is_name(token: str) -> bool:
    t = token.strip(_PUNCT)
    return len(t) >= 2 and t[0].isupper() and t[1].islower()


def _break_cost(prev: str, nxt: str) -> float:
    """Cost of a break between two tokens; negative where readers expect one."""
    tail = prev.rstrip("\"'»”)]")
    if tail.endswith((".", "!", "?", "…")):
        return -12.0
    if tail.endswith((",", ";", ":", "—", "–")):
        return -9.0
    if prev.strip(_PUNCT).lower() in _STICKY or _NUMBER.match(prev):
        return _FORBIDDEN
    if _is_name(prev) and _is_name(nxt):
        return _FORBIDDEN
    return -4.0 if nxt.strip(_PUNCT).lower() in _CONJ_PREP else 0.0


def _layout(words: Sequence[str], max_chars: int, rows: int) -> tuple[str, ...]:
    """Best breaking into exactly ``rows`` rows (dynamic programming over break points).

    Squared row lengths reward balance; the top row weighs a little more, so
    ties go to a bottom-heavy pyramid.
    """
    n = len(words)
    pre = [0]
    for w in words:
        pre.append(pre[-1] + len(w))
    best = [[math.inf] * (n + 1) for _ in range(rows + 1)]
    back = [[0] * (n + 1) for _ in range(rows + 1)]
    best[0][0] = 0.0
    for r in range(1, rows + 1):
        weight = 1.0 + 0.15 * (rows - r) / max(rows - 1, 1)
        for j in range(r, n + 1) if r < rows else (n,):
            for i in range(j - 1, r - 2, -1):
                width = pre[j] - pre[i] + j - i - 1
                if width > max_chars and j - i > 1:
                    break
                cost = best[r - 1][i] + weight * width * width / max_chars
                if j < n:
                    cost += _break_cost(words[j - 1], words[j])
                if cost < best[r][j]:
                    best[r][j], back[r][j] = cost, i
    out: list[str] = []
    j = n
    for r in range(rows, 0, -1):
        i = back[r][j]
        out.append(" ".join(words[i:j]))
        j = i
    return tuple(reversed(out))


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
    for al in sorted(lines, key=lambda al: al.start or 0.0):
        if al.start is None or al.end is None or al.status is LineStatus.UNSPOKEN:
            continue
        # A no_text line may still hold stray Russian; only aligned Russian is known to be heard.
        ru = " ".join(al.line.ru.split()) if al.status is LineStatus.ALIGNED else ""
        en = " ".join(al.line.en.split())
        if not (ru or en):
            continue
        piece = _Piece(al.start, max(al.end, al.start), ru, en, (al.line.index,), al.words)
        pieces.extend(_split(piece, profile) if _too_long(piece, profile) else [piece])
    return _retime([_to_cue(g, profile) for g in _merge(pieces, profile)], profile)


def _too_long(p: _Piece, profile: Profile) -> bool:
    return (
        p.end - p.start > profile.max_duration
        or _min_rows(p.ru.split(), profile.ru_max_chars) > profile.max_rows
        or _min_rows(p.en.split(), profile.en_max_chars) > profile.max_rows
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
            if _min_rows(main[i:j], main_max) > rows:
                cost += _VIOLATION
            if other and cuts[i] == cuts[j]:
                cost += _VIOLATION / 3  # a piece without its translation
            elif _min_rows(other[cuts[i] : cuts[j]], other_max) > rows:
                cost += _VIOLATION
            if end - start > profile.max_duration:
                cost += _VIOLATION
            if i > 0:
                pause = times[i][0] - times[i - 1][1]
                cost += 2 * _break_cost(main[i - 1], main[i]) - 15.0 * min(max(pause, 0.0), 1.0)
                if 0 < cuts[i] < len(other):
                    cost += _break_cost(other[cuts[i] - 1], other[cuts[i]])
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
    total = sum(len(t) + 1 for t in tokens) or 1
    out, pos = [], 0
    for t in tokens:
        s = lo + (hi - lo) * pos / total
        pos += len(t) + 1
        out.append((s, lo + (hi - lo) * (pos - 1) / total))
    return out


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
        key=lambda c: abs(positions[c - 1] - target) / _WINDOW * 6.0 + _break_cost(other[c - 1], other[c]),
    )


def _merge(pieces: Sequence[_Piece], profile: Profile) -> list[list[_Piece]]:
    groups: list[list[_Piece]] = []
    for p in pieces:
        if groups and _can_merge(groups[-1], p, profile):
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def _can_merge(group: Sequence[_Piece], p: _Piece, profile: Profile) -> bool:
    start, end = group[0].start, max(g.end for g in group)
    if not (p.whole and all(g.whole for g in group)) or p.start - end >= profile.merge_gap:
        return False
    if max(end, p.end) - start > profile.max_duration:
        return False
    if min(end - start, p.end - p.start) >= profile.merge_below:
        return False
    rows = profile.max_rows
    ru = _group_rows([*(g.ru for g in group), p.ru], profile.ru_max_chars, rows)
    en = _group_rows([*(g.en for g in group), p.en], profile.en_max_chars, rows)
    return len(ru) <= rows and len(en) <= rows


def _group_rows(parts: Sequence[str], max_chars: int, max_rows: int) -> tuple[str, ...]:
    """One row per line when each fits, so readers see which translation goes with which line."""
    parts = [t for t in parts if t]
    if 1 < len(parts) <= max_rows and all(len(t) <= max_chars for t in parts):
        return tuple(parts)
    return break_rows(" ".join(parts), max_chars, max_rows)


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


def _chars(rows: Sequence[str]) -> int:
    return sum(len(r) for r in rows)


def _retime(cues: Sequence[Cue], p: Profile) -> list[Cue]:
    """Apply min/max duration, reading speed, chaining and gap rules, in one forward pass."""
    out: list[Cue] = []
    for i, cue in enumerate(cues):
        # A line that overlaps the previous cue waits for it rather than covering it.
        start = cue.start if not out else max(cue.start, out[-1].end + p.min_gap)
        end = max(cue.end, start)
        need = max(p.min_duration, _chars(cue.ru) / p.ru_max_cps, _chars(cue.en) / p.en_max_cps)
        if end - start < need:
            end = max(end, min(start + need, cue.end + p.max_extend))
        if i + 1 < len(cues) and cues[i + 1].start - end < p.chain_gap:
            end = cues[i + 1].start - p.min_gap  # closes a short gap, or trims an overlap
        end = min(end, start + p.max_duration)
        if end - start < 0.001:  # squeezed out by its neighbour: show it anyway, pushing the next
            end = start + p.min_duration
        out.append(replace(cue, start=round(start, 3), end=round(end, 3)))
    return out


@dataclass(frozen=True, slots=True)
class Violation:
    cue_index: int  # 1-based, as in the SRT file
    start: float
    end: float
    rule: str
    detail: str


_TOLERANCE = 0.001  # subtitle files keep milliseconds, so finer differences are rounding


def check_cues(cues: Sequence[Cue], profile: Profile = DEFAULT) -> list[Violation]:
    """Every rule of ``profile`` that each cue breaks; an empty list means a clean file."""
    found: list[tuple[int, str, str]] = []
    for n, cue in enumerate(cues, start=1):
        dur = cue.end - cue.start
        for lang, rows, limit, cps in (
            ("ru", cue.ru, profile.ru_max_chars, profile.ru_max_cps),
            ("en", cue.en, profile.en_max_chars, profile.en_max_cps),
        ):
            longest = max((len(r) for r in rows), default=0)
            if longest > limit:
                found.append((n, "line_length", f"{lang} row of {longest} characters (max {limit})"))
            if len(rows) > profile.max_rows:
                found.append((n, "line_count", f"{len(rows)} {lang} rows (max {profile.max_rows})"))
            speed = _chars(rows) / dur if dur > 0 else math.inf
            if _chars(rows) and speed > cps + 1e-6:
                found.append((n, f"reading_speed_{lang}", f"{speed:.1f} characters/s (max {cps:g})"))
        if dur < profile.min_duration - _TOLERANCE:
            found.append((n, "min_duration", f"{dur:.3f} s (min {profile.min_duration:.3f})"))
        if dur > profile.max_duration + _TOLERANCE:
            found.append((n, "max_duration", f"{dur:.3f} s (max {profile.max_duration:.3f})"))
        if n < len(cues):
            nxt = cues[n]
            gap = nxt.start - cue.end
            if gap < -1e-6 or nxt.start < cue.start:
                found.append((n, "overlap", f"cue {n + 1} starts {-gap:.3f} s before this one ends"))
            elif gap < profile.min_gap - _TOLERANCE:
                found.append((n, "gap", f"{gap:.3f} s to cue {n + 1} (min {profile.min_gap:.3f})"))
    return [Violation(n, cues[n - 1].start, cues[n - 1].end, rule, detail) for n, rule, detail in found]
