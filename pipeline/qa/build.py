"""Assemble the report's evidence: attribution, scores, findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.qa.attribution import Heard, attribute, median_pace
from pipeline.qa.findings import Evidence, Finding, find_all, places
from pipeline.qa.scores import Scores, Segment, score
from pipeline.qa.verdict import Verdict, judge, propose
from pipeline.subtitles.cues import Violation, check_cues
from pipeline.types import Alignment, Cue, LineStatus, Word
from pipeline.whisper.forced import Scorer


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
    scorer: Scorer | None = None,
) -> Report:
    """Everything the report shows, from the run's results; ``violations`` default to ``check_cues``.

    ``scorer`` scores texts as forced text over stretches of the audio
    (:class:`pipeline.whisper.forced.ForcedScorer` in a run); without one, no
    transcript error can be judged likely.
    """
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
        verdicts(alignment, words, heard, scores, pace, scorer),
    )
    return Report(alignment, tuple(words), heard, scores, tuple(find_all(evidence)), pace)


def verdicts(
    alignment: Alignment,
    words: Sequence[Word],
    heard: Heard,
    scores: Scores,
    pace: float,
    scorer: Scorer | None,
) -> dict[tuple[int, int], Verdict]:
    """What the audio says of each place the transcript and the ASR differ, keyed (line, place)."""
    found = list(places(alignment.lines, scores.by_line(), heard, words))
    proposals = [propose(p.line, p.segment, p.region, p.heard, pace, alignment.duration) for p in found]
    judged = judge(proposals, scorer)
    return {(p.line.line.index, p.number): v for p, v in zip(found, judged)}


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
