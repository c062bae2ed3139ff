"""Word-level differences between a reference text and what the ASR heard.

Both sides are compared as normalised tokens (:mod:`pipeline.normalize`, the
aligner's own normalisation), but the report shows the original words, so
each token remembers which word it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

import jiwer

from pipeline.normalize import normalize_word

NORMALISATION = (
    "Both texts are normalised as the aligner normalises them before matching: lower case, "
    "punctuation dropped, ё read as е, Latin look-alike letters inside Cyrillic words read as "
    "Cyrillic, numbers spelled out as Russian words."
)


@dataclass(frozen=True, slots=True)
class Tokens:
    """Normalised tokens of a run of words, each with the index of the word it came from."""

    words: tuple[str, ...]
    tokens: tuple[str, ...]
    owner: tuple[int, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def letters(text: str) -> str:
    """A text's normalised letters, run together: what two spellings of the same speech share."""
    return "".join(token for word in text.split() for token in normalize_word(word))


def tokenize(words: Sequence[str]) -> Tokens:
    tokens: list[str] = []
    owner: list[int] = []
    for w, word in enumerate(words):
        for token in normalize_word(word):
            tokens.append(token)
            owner.append(w)
    return Tokens(tuple(words), tuple(tokens), tuple(owner))


@dataclass(frozen=True, slots=True)
class Op:
    """One step of the token alignment: ``equal``, ``substitute``, ``delete`` or ``insert``."""

    kind: str
    ref_start: int
    ref_end: int
    hyp_start: int
    hyp_end: int


def to_ops(chunks: Sequence[jiwer.AlignmentChunk]) -> tuple[Op, ...]:
    return tuple(Op(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx) for c in chunks)


def align_tokens(ref: Sequence[str], hyp: Sequence[str]) -> tuple[Op, ...]:
    """The minimum-edit alignment of two token sequences (jiwer's, as the scores use)."""
    if not ref and not hyp:
        return ()
    if not ref:
        return (Op("insert", 0, 0, 0, len(hyp)),)
    if not hyp:
        return (Op("delete", 0, len(ref), 0, 0),)
    return prefer_matches(to_ops(jiwer.process_words(" ".join(ref), " ".join(hyp)).alignments[0]), ref, hyp)


_DIFFLIB_KINDS = {"replace": "substitute", "equal": "equal", "insert": "insert", "delete": "delete"}


def prefer_matches(ops: Sequence[Op], ref: Sequence[str], hyp: Sequence[str]) -> tuple[Op, ...]:
    """The same alignment with ties broken towards matching words.

    For «при этом есть» heard as «этом то есть», two substitutions cost as much
    as a deletion, a match and an insertion; Levenshtein may pick either, but
    only the second tells a reader which word went unheard.
    """
    out: list[Op] = []
    for op in ops:
        if op.kind != "substitute" or max(op.ref_end - op.ref_start, op.hyp_end - op.hyp_start) < 2:
            out.append(op)
            continue
        matcher = SequenceMatcher(None, ref[op.ref_start : op.ref_end], hyp[op.hyp_start : op.hyp_end], False)
        for kind, i1, i2, j1, j2 in matcher.get_opcodes():
            shifted = (op.ref_start + i1, op.ref_start + i2, op.hyp_start + j1, op.hyp_start + j2)
            out.append(Op(_DIFFLIB_KINDS[kind], *shifted))
    return tuple(out)


def unheard_edge(ops: Sequence[Op], ref_len: int, at_end: bool) -> int:
    """How many more reference tokens than heard ones precede the first match (or follow the last).

    A misheard edge has its heard words already; only an edge short of heard
    words can be missing some. Counting, rather than reading jiwer's choice
    between equally cheap alignments, keeps «к какой» heard as «какое» one short.
    """
    if not ops:
        return ref_len
    ref = hyp = 0
    for op in reversed(ops) if at_end else ops:
        if op.kind == "equal":
            break
        ref += op.ref_end - op.ref_start
        hyp += op.hyp_end - op.hyp_start
    return max(0, ref - hyp)


def differing_words(ops: Sequence[Op], ref: Tokens, hyp: Tokens) -> tuple[set[int], set[int]]:
    """Indices of reference words and heard words touched by any non-equal step."""
    ref_words: set[int] = set()
    hyp_words: set[int] = set()
    for op in ops:
        if op.kind == "equal":
            continue
        ref_words.update(ref.owner[i] for i in range(op.ref_start, op.ref_end))
        hyp_words.update(hyp.owner[j] for j in range(op.hyp_start, op.hyp_end))
    return ref_words, hyp_words


def edit_regions(ops: Sequence[Op], ref: Tokens, hyp: Tokens) -> list[Op]:
    """The places where the texts differ, one word-to-word replacement each where possible.

    jiwer reports a run of substitutions as one step; split one for one, each
    misheard word is judged on its own evidence. Adjacent steps that share a
    word (a number spelled out as several tokens, «A B» heard as «C» with a
    deletion beside) stay one place, as a reader sees them.
    """
    steps = [s for op in ops if op.kind != "equal" for s in _one_for_one(op)]
    regions: list[Op] = []
    for step in steps:
        last = regions[-1] if regions else None
        if last is not None and _touch(last, step, ref, hyp):
            regions[-1] = Op("substitute", last.ref_start, step.ref_end, last.hyp_start, step.hyp_end)
        else:
            regions.append(step)
    return [_kind_of(r) for r in regions]


def _one_for_one(op: Op) -> list[Op]:
    if op.kind != "substitute" or op.ref_end - op.ref_start != op.hyp_end - op.hyp_start:
        return [op]
    return [
        Op("substitute", op.ref_start + k, op.ref_start + k + 1, op.hyp_start + k, op.hyp_start + k + 1)
        for k in range(op.ref_end - op.ref_start)
    ]


def _touch(a: Op, b: Op, ref: Tokens, hyp: Tokens) -> bool:
    """Adjacent steps that share a word, or where one side of either step is empty."""
    if a.ref_end != b.ref_start or a.hyp_end != b.hyp_start:
        return False
    if a.kind in ("insert", "delete") or b.kind in ("insert", "delete"):
        return True
    same_ref = (
        a.ref_end > 0 and b.ref_start < len(ref.owner) and ref.owner[a.ref_end - 1] == ref.owner[b.ref_start]
    )
    same_hyp = (
        a.hyp_end > 0 and b.hyp_start < len(hyp.owner) and hyp.owner[a.hyp_end - 1] == hyp.owner[b.hyp_start]
    )
    return same_ref or same_hyp


def similarity(a: str, b: str) -> float:
    """Letter similarity of two tokens in 0..1."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio() if a and b else float(a == b)


def _kind_of(region: Op) -> Op:
    has_ref, has_hyp = region.ref_end > region.ref_start, region.hyp_end > region.hyp_start
    kind = "substitute" if has_ref and has_hyp else ("delete" if has_ref else "insert")
    return Op(kind, region.ref_start, region.ref_end, region.hyp_start, region.hyp_end)
