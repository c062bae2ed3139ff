"""Order-preserving matching of reference tokens to ASR tokens.

Exact runs come from difflib's longest-common-block matcher; between them a
small Needleman–Wunsch pass pairs words that differ slightly (a misheard ending,
a typo in the transcript), so they can serve as anchors too.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np

FUZZY_MIN_SIMILARITY = 0.7
_MAX_FUZZY_CELLS = 250_000


def similarity(a: str, b: str) -> float:
    """Character similarity of two tokens in 0..1."""
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 3:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def match_tokens(
    ref: Sequence[str], hyp: Sequence[str], min_similarity: float = FUZZY_MIN_SIMILARITY
) -> list[tuple[int, int, float]]:
    """Pairs (ref index, hyp index, similarity), increasing in both indices."""
    matcher = SequenceMatcher(None, ref, hyp, autojunk=False)
    pairs: list[tuple[int, int, float]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend((i1 + k, j1 + k, 1.0) for k in range(i2 - i1))
        elif tag == "replace" and (i2 - i1) * (j2 - j1) <= _MAX_FUZZY_CELLS:
            found = _fuzzy_pairs(ref[i1:i2], hyp[j1:j2], min_similarity)
            pairs.extend((i1 + i, j1 + j, s) for i, j, s in found)
    return pairs


def _fuzzy_pairs(
    ref: Sequence[str], hyp: Sequence[str], min_similarity: float
) -> list[tuple[int, int, float]]:
    """Needleman–Wunsch maximising summed similarity of paired tokens (gaps cost nothing)."""
    n, m = len(ref), len(hyp)
    sim = np.array([[similarity(r, h) for h in hyp] for r in ref], dtype=np.float64)
    sim[sim < min_similarity] = -1.0
    score = np.zeros((n + 1, m + 1))
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            score[i, j] = max(score[i - 1, j], score[i, j - 1], score[i - 1, j - 1] + sim[i - 1, j - 1])
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if sim[i - 1, j - 1] > 0 and score[i, j] == score[i - 1, j - 1] + sim[i - 1, j - 1]:
            pairs.append((i - 1, j - 1, float(sim[i - 1, j - 1])))
            i, j = i - 1, j - 1
        elif score[i, j] == score[i - 1, j]:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]
