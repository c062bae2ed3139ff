"""Breaking one language's text into display rows, and the cost of each possible break.

Readers expect a row to end at punctuation or before a conjunction or
preposition; a row must not end on a preposition, between a first and a last
name, or between a number and its unit. :func:`break_cost` scores that, and
both the row breaker here and the cue splitter in :mod:`pipeline.subtitles.cues` use it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence


def _word_set(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


CONJ_PREP = _word_set(
    "и а но или что чтобы как в во на с со к ко по о об от до из за для без у при про через",
    "and but or that which to in on at of for with from by about",
)
# A row never ends on one of these: they belong with the word after them.
STICKY = CONJ_PREP | _word_set(
    "не ни этот эта эти этих этой этим этого мой моя мои моих наш наша наши наших ваш ваша ваши ваших",
    "свой своя свои своих a an the this these those my your his her its our their",
)
PUNCT = ".,;:!?…—–-\"'«»“”„()[]"
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,:\-–]\d+)*%?$")
FORBIDDEN = 40.0  # larger than any balance gain, so only taken when nothing else fits


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


def min_rows(tokens: Sequence[str], max_chars: int) -> int:
    """The fewest rows of ``max_chars`` that hold ``tokens``; a too-long token gets a row of its own."""
    return len(_first_fit([len(t) for t in tokens], max_chars))


def _is_name(token: str) -> bool:
    t = token.strip(PUNCT)
    return len(t) >= 2 and t[0].isupper() and t[1].islower()


def break_cost(prev: str, nxt: str) -> float:
    """Cost of a break between two tokens; negative where readers expect one."""
    tail = prev.rstrip("\"'»”)]")
    if tail.endswith((".", "!", "?", "…")):
        return -12.0
    if tail.endswith((",", ";", ":", "—", "–")):
        return -9.0
    if prev.strip(PUNCT).lower() in STICKY or _NUMBER.match(prev):
        return FORBIDDEN
    if _is_name(prev) and _is_name(nxt):
        return FORBIDDEN
    return -4.0 if nxt.strip(PUNCT).lower() in CONJ_PREP else 0.0


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
                    cost += break_cost(words[j - 1], words[j])
                if cost < best[r][j]:
                    best[r][j], back[r][j] = cost, i
    out: list[str] = []
    j = n
    for r in range(rows, 0, -1):
        i = back[r][j]
        out.append(" ".join(words[i:j]))
        j = i
    return tuple(reversed(out))
