"""Findings: the places a producer should look at, each scored 0..1 by how much it matters.

A score multiplies how bad the problem is if real (a weight per kind) by how
sure the evidence makes it. Weights order the kinds: a line that was never
said or speech with no line loses or invents subtitles; a wrong word in the
transcript shows wrong text; doubtful timing and rule breaks are cosmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum

from pipeline.align.evidence import UNSCRIPTED_MIN_SECONDS  # shorter bursts are breaths and clicks
from pipeline.qa.attribution import Heard
from pipeline.qa.diff import Op, edit_regions, similarity
from pipeline.qa.fmt import clock
from pipeline.qa.scores import SegmentScore
from pipeline.qa.verdict import LIKELY, MARGIN, Verdict, apply
from pipeline.subtitles.cues import Violation
from pipeline.types import AlignedLine, Cue, LineStatus, Word


class Kind(str, Enum):
    TRANSCRIPT_ERROR = "transcript_error"
    UNSPOKEN = "unspoken"
    UNSCRIPTED = "unscripted"
    UNCERTAIN_TIMING = "uncertain_timing"
    RULE_VIOLATION = "rule_violation"
    MISSING_TRANSLATION = "missing_translation"
    MISSING_RUSSIAN = "missing_russian"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    line: int | None
    start: float
    end: float
    score: float
    reference: str
    heard: str
    detail: str
    verdict: Verdict | None = None  # transcript errors only: what the audio says of the difference
    corrected: str = ""  # a likely transcript error: the Russian line with the heard words in place

    @property
    def likely(self) -> bool:
        return self.verdict is not None and self.verdict.verdict == LIKELY

    def tier(self) -> str:
        """``likely`` or ``possible`` for a transcript error, else the kind."""
        return self.verdict.verdict if self.verdict is not None else self.kind.value

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["kind"] = self.kind.value
        out["start"], out["end"], out["score"] = (
            round(self.start, 3),
            round(self.end, 3),
            round(self.score, 3),
        )
        del out["verdict"], out["corrected"]
        if self.verdict is not None:
            out["verdict"] = self.verdict.verdict
            out["evidence"] = self.verdict.evidence()
            if self.corrected:
                out["corrected"] = self.corrected
        return out


UNSCRIPTED_MIN_LETTERS = 4  # a lone «в» or «и» is the ASR's timing slop, not a missing line
LOW_CONFIDENCE = 0.5
PACE_LIMITS = (0.5, 2.0)  # times the episode's median pace: beyond, a line is squeezed or stretched
# Below this a difference is the ASR's everyday slip (a dropped «и», a doubtful ending): it
# still counts in WER and shows in the line's diff, but is not listed as a finding.
TRANSCRIPT_ERROR_FLOOR = 0.15
NEAR_MISS = 0.7  # letter similarity at which a misheard word still shows the ASR was on track
LIKELY_SCORE = 0.6  # the least a likely transcript error scores: above SERIOUS, below a lost line
# A possible one keeps this share of its score: below SERIOUS, ranked as before among its kind.
POSSIBLE_SHARE = 0.5


def rank(findings: Iterable[Finding]) -> list[Finding]:
    """Likely transcript errors first, then the rest, each most important first."""
    return sorted(
        findings, key=lambda f: (not f.likely, -f.score, f.start, f.line if f.line is not None else -1)
    )


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the findings are read from."""

    lines: Sequence[AlignedLine]
    words: Sequence[Word]  # the ASR's, with probabilities
    heard: Heard
    segments: dict[int, SegmentScore]  # per line index
    cues: Sequence[Cue]
    violations: Sequence[Violation]
    pace: float  # the episode's median letters per second
    verdicts: dict[tuple[int, int], Verdict] = field(default_factory=dict)  # per (line, place): see places()


def find_all(ev: Evidence) -> list[Finding]:
    return rank(
        [
            *transcript_errors(ev),
            *unspoken(ev),
            *unscripted(ev),
            *uncertain_timing(ev),
            *rule_violations(ev),
            *missing_text(ev),
        ]
    )


def place(lines: Sequence[AlignedLine], index: int) -> tuple[float, float]:
    """A line's time, or for an untimed line the gap between its timed neighbours."""
    al = lines[index]
    if al.start is not None and al.end is not None:
        return al.start, al.end
    before = max((a.end for a in lines[:index] if a.end is not None), default=0.0)
    after = min((a.start for a in lines[index + 1 :] if a.start is not None), default=before)
    return before, max(before, after)


@dataclass(frozen=True, slots=True)
class Place:
    """One place where a line's text and what was heard for it differ."""

    line: AlignedLine
    segment: SegmentScore
    heard: tuple[Word, ...]  # every word heard for the line
    number: int  # the place's number within its line
    region: Op
    regions: tuple[Op, ...]  # all the line's places


def places(
    lines: Sequence[AlignedLine], segments: dict[int, SegmentScore], heard: Heard, words: Sequence[Word]
) -> Iterator[Place]:
    """Every place a transcript error may be, line by line: the lines heard (not revived from unspoken)."""
    for al in lines:
        seg = segments.get(al.line.index)
        if al.status is not LineStatus.ALIGNED or seg is None or al.line.index in heard.revived:
            continue
        said = tuple(words[j] for j in heard.lines.get(al.line.index, ()))
        regions = tuple(edit_regions(seg.ops, seg.ref, seg.hyp))
        for number, region in enumerate(regions):
            yield Place(al, seg, said, number, region, regions)


def transcript_errors(ev: Evidence) -> list[Finding]:
    out: list[Finding] = []
    for place in places(ev.lines, ev.segments, ev.heard, ev.words):
        hits = _heard_elsewhere(place.segment, place.regions, place.region)
        verdict = ev.verdicts.get((place.line.line.index, place.number))
        finding = _transcript_error(place, hits, verdict)
        if finding is not None:
            out.append(finding)
    return out


def _heard_elsewhere(seg: SegmentScore, regions: Sequence[Op], region: Op) -> int:
    """Reference tokens outside ``region`` that were heard, a near miss («решения»/«решение») included."""
    near = sum(
        1
        for r in regions
        if r is not region
        and r.kind == "substitute"
        and r.ref_end - r.ref_start == 1 == r.hyp_end - r.hyp_start
        and similarity(seg.ref.tokens[r.ref_start], seg.hyp.tokens[r.hyp_start]) >= NEAR_MISS
    )
    return sum(op.ref_end - op.ref_start for op in seg.ops if op.kind == "equal") + near


def _transcript_error(place: Place, hits: int, verdict: Verdict | None) -> Finding | None:
    al, seg, region, heard = place.line, place.segment, place.region, place.heard
    ref_words = sorted({seg.ref.owner[i] for i in range(region.ref_start, region.ref_end)})
    hyp_words = sorted({seg.hyp.owner[j] for j in range(region.hyp_start, region.hyp_end)})
    said = [heard[k] for k in hyp_words]
    written = " ".join(seg.ref.words[i] for i in ref_words)
    spoken = " ".join(w.text for w in said)
    # The rest of the line heard well means the ASR was on track here too.
    context = hits / max(1, len(seg.ref.tokens) - (region.ref_end - region.ref_start))
    # A wide difference looks like the ASR losing its way more than like an edited word.
    width = max(region.ref_end - region.ref_start, region.hyp_end - region.hyp_start)
    shape = 1.0 if width <= 2 else max(0.2, 1.0 - 0.25 * (width - 2))
    if region.kind == "delete":
        # Not hearing a written word proves little: the ASR drops short words all the time.
        certainty, weight, what = 0.5, 0.4, "written but not heard"
    elif region.kind == "insert":
        certainty, weight, what = min(w.probability for w in said), 0.5, "heard but not written"
    else:
        certainty, weight, what = min(w.probability for w in said), 0.9, "heard differently"
    score = weight * certainty * (0.5 + 0.5 * context) * shape * _distinctness(written, spoken)
    likely = verdict is not None and verdict.verdict == LIKELY
    if score < TRANSCRIPT_ERROR_FLOOR and not likely:
        return None
    start, end = _region_time(al, ref_words, said)
    detail = (
        f"{what}: the transcript has «{written}», the ASR heard «{spoken}»"
        if said and written
        else f"{what}: «{written or spoken}»"
    )
    if said:
        detail += f" (ASR confidence {min(w.probability for w in said):.2f})"
    corrected = ""
    if verdict is not None:
        detail += f"; {verdict.reason}"
    if likely and verdict is not None and verdict.margin is not None:
        # The audio decided: as serious as a lost line, the wider the margin the surer.
        score = LIKELY_SCORE + (1 - LIKELY_SCORE) * min(1.0, verdict.margin / (3 * MARGIN))
        corrected = " ".join(apply(al.line.ru.split(), verdict.edits))
    else:
        score *= POSSIBLE_SHARE
    return Finding(
        Kind.TRANSCRIPT_ERROR, al.line.index, start, end, score, written, spoken, detail, verdict, corrected
    )


def _distinctness(written: str, spoken: str) -> float:
    """How unlike each other two texts sound, as a weight in 0..1.

    A misheard ending («решений»/«решения») is the ASR's everyday slip; a
    different word altogether, heard with confidence, is what a transcript
    that departs from the recording looks like. Two short words (о/и) differ
    by the ASR's whim more often than by the transcript's, and a word heard
    as one of a very different length was more likely lost than replaced.
    """
    a, b = _letters(written), _letters(spoken)
    if not (a and b):
        return 0.3 if max(len(a), len(b)) <= 3 else 1.0
    stem = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    # Russian inflects in the last letter or three: a shared beginning is the same word in another form.
    alike = min(1.0, stem / max(1, min(len(a), len(b)) - 2)) if stem >= 3 else 0.0
    unlike = 1.0 - max(alike, similarity(a, b))
    short = 0.3 if max(len(a), len(b)) <= 3 else 1.0
    # «операторов» heard as «в»: the ASR lost the word rather than heard another one.
    lopsided = 0.6 if min(len(a), len(b)) < 0.4 * max(len(a), len(b)) else 1.0
    return (0.35 + 0.65 * unlike) * short * lopsided


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower().replace("ё", "е") if ch.isalpha())


def _region_time(al: AlignedLine, ref_words: Sequence[int], said: Sequence[Word]) -> tuple[float, float]:
    if said:
        return said[0].start, said[-1].end
    placed = [al.words[i] for i in ref_words if i < len(al.words)]
    if placed:
        return placed[0].start, placed[-1].end
    return al.start or 0.0, al.end or 0.0


def unspoken(ev: Evidence) -> list[Finding]:
    out = []
    for al in ev.lines:
        if al.status is not LineStatus.UNSPOKEN or al.line.index in ev.heard.revived:
            continue
        start, end = place(ev.lines, al.line.index)
        letters = sum(len(t) for t in al.line.ru.split())
        # A lost sentence matters more than a lost «Да.».
        score = 0.95 * (0.7 + 0.3 * min(1.0, letters / 30)) * min(1.0, max(al.confidence, 0.5))
        detail = f"not heard between {clock(start)} and {clock(end)}; no subtitle is shown for it"
        out.append(Finding(Kind.UNSPOKEN, al.line.index, start, end, score, al.line.ru, "", detail))
    return out


def unscripted(ev: Evidence) -> list[Finding]:
    out = []
    for run in ev.heard.runs:
        said = [ev.words[j] for j in run]
        start, end = said[0].start, said[-1].end
        text = " ".join(w.text for w in said)
        if end - start < UNSCRIPTED_MIN_SECONDS or len(_letters(text)) < UNSCRIPTED_MIN_LETTERS:
            continue
        certainty = sum(w.probability for w in said) / len(said)
        score = 0.9 * (0.6 + 0.4 * min(1.0, (end - start) / 3.0)) * (0.5 + 0.5 * certainty)
        between = _neighbours(ev.lines, start, end)
        detail = f"{end - start:.1f} s of speech {between} that matches no transcript line"
        out.append(Finding(Kind.UNSCRIPTED, None, start, end, score, "", text, detail))
    return out


def _neighbours(lines: Sequence[AlignedLine], start: float, end: float) -> str:
    before = [a.line.index for a in lines if a.end is not None and a.end <= start + 0.2]
    after = [a.line.index for a in lines if a.start is not None and a.start >= end - 0.2]
    if before and after:
        return f"between lines {max(before)} and {min(after)}"
    if after:
        return f"before line {min(after)}"
    return f"after line {max(before)}" if before else "in the episode"


def uncertain_timing(ev: Evidence) -> list[Finding]:
    out = []
    for al in ev.lines:
        index = al.line.index
        heard = " ".join(ev.words[j].text for j in ev.heard.lines.get(index, ()))
        if index in ev.heard.revived:
            start, end = _heard_span(ev, index)
            detail = (
                "marked unspoken, yet speech that sounds like it fills its place: "
                "it may be said with different words, and it has no subtitle"
            )
            out.append(Finding(Kind.UNCERTAIN_TIMING, index, start, end, 0.8, al.line.ru, heard, detail))
            continue
        if al.status is not LineStatus.ALIGNED or al.start is None or al.end is None:
            continue
        reasons, badness = [], 0.0
        if al.confidence < LOW_CONFIDENCE:
            reasons.append(f"alignment confidence {al.confidence:.2f}")
            badness = max(badness, (LOW_CONFIDENCE - al.confidence) / LOW_CONFIDENCE)
        letters = sum(len(t) for t in al.line.ru.split())
        seconds = max(al.end - al.start, 0.01)
        ratio = letters / seconds / ev.pace if ev.pace > 0 else 1.0
        if ratio > PACE_LIMITS[1]:
            reasons.append(f"squeezed: {letters / seconds:.0f} letters/s against {ev.pace:.0f} typical")
            badness = max(badness, min(1.0, ratio / PACE_LIMITS[1] - 1.0 + 0.3))
        elif ratio < PACE_LIMITS[0]:
            reasons.append(f"stretched: {letters / seconds:.1f} letters/s against {ev.pace:.0f} typical")
            badness = max(badness, min(1.0, PACE_LIMITS[0] / max(ratio, 1e-3) - 1.0 + 0.3))
        if reasons:
            score = 0.6 * min(1.0, badness)
            detail = "; ".join(reasons)
            out.append(
                Finding(Kind.UNCERTAIN_TIMING, index, al.start, al.end, score, al.line.ru, heard, detail)
            )
    return out


def _heard_span(ev: Evidence, index: int) -> tuple[float, float]:
    said = [ev.words[j] for j in ev.heard.lines.get(index, ())]
    return (said[0].start, said[-1].end) if said else place(ev.lines, index)


RULE_WEIGHTS = {"reading_speed": 0.4, "max_duration": 0.3, "line_length": 0.35, "line_count": 0.35}


def rule_violations(ev: Evidence) -> list[Finding]:
    """One finding per cue that still breaks a rule after the cue builder's fixes."""
    by_cue: dict[int, list[Violation]] = {}
    for v in ev.violations:
        by_cue.setdefault(v.cue_index, []).append(v)
    out = []
    for n, found in sorted(by_cue.items()):
        cue = ev.cues[n - 1] if 0 < n <= len(ev.cues) else None
        score = max(RULE_WEIGHTS.get(_rule_family(v.rule), 0.2) for v in found)
        detail = f"cue {n}: " + "; ".join(f"{v.rule.replace('_', ' ')} {v.detail}" for v in found)
        text = " / ".join([*cue.ru, *cue.en]) if cue else ""
        line = cue.lines[0] if cue and cue.lines else None
        out.append(Finding(Kind.RULE_VIOLATION, line, found[0].start, found[0].end, score, text, "", detail))
    return out


def _rule_family(rule: str) -> str:
    return "reading_speed" if rule.startswith("reading_speed") else rule


def missing_text(ev: Evidence) -> list[Finding]:
    out = []
    for al in ev.lines:
        index, ru, en = al.line.index, al.line.ru.strip(), al.line.en.strip()
        if ru and not en:
            start, end = place(ev.lines, index)
            detail = "Russian line without an English translation: the English subtitles skip it"
            out.append(Finding(Kind.MISSING_TRANSLATION, index, start, end, 0.6, ru, "", detail))
        elif en and not ru:
            heard = " ".join(ev.words[j].text for j in ev.heard.lines.get(index, ()))
            start, end = _heard_span(ev, index)
            if heard:
                detail = "English line without its Russian; this Russian speech was heard in its place"
            else:
                detail = "English line without its Russian line"
            score = 0.7 if heard else 0.5
            out.append(Finding(Kind.MISSING_RUSSIAN, index, start, end, score, en, heard, detail))
    return out
