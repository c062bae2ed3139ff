"""Order-preserving matching of reference tokens to ASR tokens.

1. Seeds and chain: exact runs of at least ``SEED`` tokens found in both
   sequences are chained into the heaviest order-preserving path. Chaining
   keeps repeated passages apart (an ad read at the start and again at the
   end): difflib's longest-block-first matching would pair the first reading
   with the second hearing and lose everything between them.
2. Between chained runs, difflib's matcher finds the shorter exact runs, and a
   small Needleman–Wunsch pass pairs words that differ slightly (a misheard
   ending, a typo in the transcript), so they can serve as anchors too.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np

FUZZY_MIN_SIMILARITY = 0.7
_MAX_FUZZY_CELLS = 250_000
SEED = 3  # tokens in the shortest run chained across the whole episode
_MAX_SEED_REPEATS = 8  # seeds more common than this (stock phrases) are left to the gaps


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
    pairs: list[tuple[int, int, float]] = []
    i0 = j0 = 0
    for i, j, size in [*_chain(_runs(ref, hyp)), (len(ref), len(hyp), 0)]:
        pairs.extend((i0 + a, j0 + b, sim) for a, b, sim in _match_gap(ref[i0:i], hyp[j0:j], min_similarity))
        pairs.extend((i + k, j + k, 1.0) for k in range(size))
        i0, j0 = i + size, j + size
    return pairs


def _match_gap(ref: Sequence[str], hyp: Sequence[str], min_similarity: float) -> list[tuple[int, int, float]]:
    if not ref or not hyp:
        return []
    matcher = SequenceMatcher(None, ref, hyp, autojunk=False)
    pairs: list[tuple[int, int, float]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend((i1 + k, j1 + k, 1.0) for k in range(i2 - i1))
        elif tag == "replace" and (i2 - i1) * (j2 - j1) <= _MAX_FUZZY_CELLS:
            found = _fuzzy_pairs(ref[i1:i2], hyp[j1:j2], min_similarity)
            pairs.extend((i1 + i, j1 + j, s) for i, j, s in found)
    return pairs


def _runs(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[int, int, int]]:
    """Maximal exact runs (ref start, hyp start, length) of at least ``SEED`` tokens."""
    if len(ref) < SEED or len(hyp) < SEED:
        return []
    where_ref: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(ref) - SEED + 1):
        where_ref.setdefault(tuple(ref[i : i + SEED]), []).append(i)
    where_hyp: dict[tuple[str, ...], list[int]] = {}
    for j in range(len(hyp) - SEED + 1):
        gram = tuple(hyp[j : j + SEED])
        if gram in where_ref:
            where_hyp.setdefault(gram, []).append(j)
    runs = []
    for gram, hyp_starts in where_hyp.items():
        ref_starts = where_ref[gram]
        if len(ref_starts) > _MAX_SEED_REPEATS or len(hyp_starts) > _MAX_SEED_REPEATS:
            continue
        for i in ref_starts:
            for j in hyp_starts:
                if i > 0 and j > 0 and ref[i - 1] == hyp[j - 1]:
                    continue  # inside a run that starts earlier
                size = SEED
                while i + size < len(ref) and j + size < len(hyp) and ref[i + size] == hyp[j + size]:
                    size += 1
                runs.append((i, j, size))
    return runs


def _chain(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The order-preserving, non-overlapping runs with the most tokens in all.

    Runs are taken in order of their reference start; a run may follow any run
    that ends before it in both sequences, found with a max-Fenwick tree over
    hyp positions. O(n log n) in the number of runs.
    """
    if not runs:
        return []
    runs = sorted(runs)
    size_hyp = max(j + n for _, j, n in runs) + 1
    tree_score = [0] * (size_hyp + 1)
    tree_run = [-1] * (size_hyp + 1)

    def best_before(j: int) -> tuple[int, int]:  # best chain ending at a hyp position < j
        score, run = 0, -1
        k = j
        while k > 0:
            if tree_score[k] > score:
                score, run = tree_score[k], tree_run[k]
            k -= k & -k
        return score, run

    def offer(j_end: int, score: int, run: int) -> None:  # a chain ending at hyp position j_end - 1
        k = j_end
        while k <= size_hyp:
            if score > tree_score[k]:
                tree_score[k], tree_run[k] = score, run
            k += k & -k

    scores = [0] * len(runs)
    previous = [-1] * len(runs)
    waiting = sorted(range(len(runs)), key=lambda r: runs[r][0] + runs[r][2])  # by ref end
    ready = 0
    for r, (i, j, n) in enumerate(runs):
        while ready < len(waiting) and runs[waiting[ready]][0] + runs[waiting[ready]][2] <= i:
            done = waiting[ready]
            offer(runs[done][1] + runs[done][2], scores[done], done)
            ready += 1
        before, previous[r] = best_before(j)
        scores[r] = before + n
    last = max(range(len(runs)), key=lambda r: scores[r])
    chain = []
    while last != -1:
        chain.append(runs[last])
        last = previous[last]
    return chain[::-1]


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
