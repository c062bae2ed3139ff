"""Assemble the report's evidence: attribution, scores, findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.qa.attribution import Heard, attribute, median_pace
from pipeline.qa.findings import Evidence, Finding, find_all
from pipeline.qa.scores import Scores, Segment, score
from pipeline.subtitles.cues import Violation, check_cues
from pipeline.types import Alignment, Cue, LineStatus, Word


@dataclass(frozen=True)
class Report:
    alignment: Alignment
    words: tuple[Word, ...]
    heard: Heard
    scores: Scores
    findings: tuple[Finding, ...]
    pace: float


def build(
    alignment: Alignment,
    words: Sequence[Word],
    cues: Sequence[Cue],
    violations: Sequence[Violation] | None = None,
) -> Report:
    """Everything the report shows, from the run's results; ``violations`` default to ``check_cues``."""
    heard = attribute(alignment.lines, words)
    scores = score(segments(alignment, words, heard))
    pace = median_pace([al for al in alignment.lines if al.start is not None and al.end is not None])
    evidence = Evidence(
        alignment.lines,
        words,
        heard,
        scores.by_line(),
        cues,
        check_cues(cues) if violations is None else violations,
        pace,
    )
    return Report(alignment, tuple(words), heard, scores, tuple(find_all(evidence)), pace)


def segments(alignment: Alignment, words: Sequence[Word], heard: Heard) -> list[Segment]:
    """Each line with what was heard for it, then each run of speech that matches no line."""
    out = []
    for al in alignment.lines:
        said = [words[j].text for j in heard.lines.get(al.line.index, ())]
        if al.line.ru or said:
            written = al.line.ru.split() if al.status is not LineStatus.NO_TEXT else []
            out.append(Segment(al.line.index, written, said))
    out.extend(Segment(None, [], [words[j].text for j in run]) for run in heard.runs)
    return out
