"""WER and CER of the ASR against the reference, overall and per line.

As in jiwer, one function (:func:`score`) does all the work once, two jiwer
passes over every segment (words, then characters), and everything else is
read off its result; :func:`wer` and :func:`cer` are thin wrappers. A segment
is a transcript line with what was heard for it, or a run of speech that
belongs to no line (an empty reference: every word of it is an insertion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

from pipeline.qa.diff import Op, Tokens, prefer_matches, to_ops, tokenize


@dataclass(frozen=True, slots=True)
class Counts:
    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference unit; speech with no reference at all scores 1.0 per the convention."""
        reference = self.hits + self.substitutions + self.deletions
        if reference == 0:
            return 1.0 if self.insertions else 0.0
        return self.errors / reference

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )


@dataclass(frozen=True, slots=True)
class Segment:
    """What was written and what was heard for one line (``line`` is None for speech matching no line)."""

    line: int | None
    reference: Sequence[str]  # the transcript's words as written
    heard: Sequence[str]  # the ASR's words


@dataclass(frozen=True, slots=True)
class SegmentScore:
    line: int | None
    ref: Tokens
    hyp: Tokens
    words: Counts
    chars: Counts
    ops: tuple[Op, ...]  # the word alignment over tokens, ties broken towards matches, for display

    @property
    def wer(self) -> float:
        return self.words.rate

    @property
    def cer(self) -> float:
        return self.chars.rate


@dataclass(frozen=True, slots=True)
class Scores:
    words: Counts
    chars: Counts
    segments: tuple[SegmentScore, ...]

    @property
    def wer(self) -> float:
        return self.words.rate

    @property
    def cer(self) -> float:
        return self.chars.rate

    def by_line(self) -> dict[int, SegmentScore]:
        return {s.line: s for s in self.segments if s.line is not None}


def score(segments: Sequence[Segment]) -> Scores:
    """Every count, rate and alignment the report needs, from one jiwer pass per unit."""
    pairs = [(s, tokenize(s.reference), tokenize(s.heard)) for s in segments]
    pairs = [(s, ref, hyp) for s, ref, hyp in pairs if ref.tokens or hyp.tokens]
    if not pairs:
        return Scores(Counts(), Counts(), ())
    refs = [ref.text for _, ref, _ in pairs]
    hyps = [hyp.text for _, _, hyp in pairs]
    words = jiwer.process_words(refs, hyps)
    chars = jiwer.process_characters(refs, hyps)
    out = []
    for (segment, ref, hyp), word_ops, char_ops in zip(pairs, words.alignments, chars.alignments):
        ops = to_ops(word_ops)
        shown = prefer_matches(ops, ref.tokens, hyp.tokens)
        out.append(SegmentScore(segment.line, ref, hyp, _counts(ops), _counts(to_ops(char_ops)), shown))
    return Scores(_totals(words), _totals(chars), tuple(out))


def wer(segments: Sequence[Segment]) -> float:
    return score(segments).wer


def cer(segments: Sequence[Segment]) -> float:
    return score(segments).cer


def _counts(ops: Sequence[Op]) -> Counts:
    hits = subs = dels = ins = 0
    for op in ops:
        if op.kind == "equal":
            hits += op.ref_end - op.ref_start
        elif op.kind == "substitute":
            subs += op.ref_end - op.ref_start
        elif op.kind == "delete":
            dels += op.ref_end - op.ref_start
        else:
            ins += op.hyp_end - op.hyp_start
    return Counts(hits, subs, dels, ins)


def _totals(output: jiwer.WordOutput | jiwer.CharacterOutput) -> Counts:
    return Counts(output.hits, output.substitutions, output.deletions, output.insertions)
