"""``<stem>.qa.json`` for tools and ``<stem>.qa.md`` for a quick read.

The JSON's ``wer``, ``cer`` and ``findings`` keep one shape tools can rely on
(``{"kind", "line", "start", "end", "score", "reference", "heard", "detail"}``
per finding, likely transcript errors first, then most important first); a
``transcript_error`` adds ``"verdict": "likely" | "possible"``, the
``"evidence"`` behind it and, when likely, the ``"corrected"`` line. The other
top-level keys add detail: ``likely`` and ``possible`` count the transcript
errors of each verdict.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline.qa.build import Report
from pipeline.qa.diff import NORMALISATION
from pipeline.qa.findings import Finding, Kind
from pipeline.qa.fmt import clock, percent
from pipeline.qa.scores import Counts
from pipeline.qa.verdict import LIKELY, POSSIBLE

FORMAT_VERSION = 1
MD_TOP = 10


def to_json(report: Report, stem: str) -> dict[str, Any]:
    segments = report.scores.by_line()
    lines = []
    for al in report.alignment.lines:
        seg = segments.get(al.line.index)
        lines.append(
            {
                "line": al.line.index,
                "status": "aligned" if al.line.index in report.heard.revived else al.status.value,
                "start": None if al.start is None else round(al.start, 3),
                "end": None if al.end is None else round(al.end, 3),
                "confidence": round(al.confidence, 3),
                "reference": al.line.ru,
                "heard": " ".join(seg.hyp.words) if seg else "",
                "wer": round(seg.wer, 4) if seg and al.line.ru else None,
                "cer": round(seg.cer, 4) if seg and al.line.ru else None,
                "words": _counts(seg.words) if seg else None,
            }
        )
    tiers = tier_counts(report)
    return {
        "wer": round(report.scores.wer, 4),
        "cer": round(report.scores.cer, 4),
        "findings": [f.to_dict() for f in report.findings],
        "likely": tiers[LIKELY],
        "possible": tiers[POSSIBLE],
        "version": FORMAT_VERSION,
        "stem": stem,
        "audio": report.alignment.audio,
        "duration": round(report.alignment.duration, 3),
        "normalisation": NORMALISATION,
        "words": _counts(report.scores.words),
        "chars": _counts(report.scores.chars),
        "counts": finding_counts(report),
        "lines": lines,
    }


def finding_counts(report: Report) -> dict[str, int]:
    counted = Counter(f.kind for f in report.findings)
    return {kind.value: counted.get(kind, 0) for kind in Kind}


def tier_counts(report: Report) -> dict[str, int]:
    """Transcript errors by verdict: ``likely`` and ``possible``."""
    counted = Counter(f.tier() for f in report.findings if f.kind is Kind.TRANSCRIPT_ERROR)
    return {LIKELY: counted.get(LIKELY, 0), POSSIBLE: counted.get(POSSIBLE, 0)}


def listed(report: Report) -> str:
    """The findings in words, likely transcript errors first («2 likely transcript errors, 9 possible;
    1 unspoken»)."""
    tiers = tier_counts(report)
    counts = finding_counts(report)
    first = f"{tiers[LIKELY]} likely transcript error{'' if tiers[LIKELY] == 1 else 's'}"
    if tiers[POSSIBLE]:
        first += f", {tiers[POSSIBLE]} possible"
    rest = [
        f"{n} {kind.replace('_', ' ')}"
        for kind, n in counts.items()
        if n and kind != Kind.TRANSCRIPT_ERROR.value
    ]
    return "; ".join([first, ", ".join(rest)] if rest else [first])


def _reference_size(c: Counts) -> int:
    return c.hits + c.substitutions + c.deletions


def _counts(c: Counts) -> dict[str, int]:
    return {
        "hits": c.hits,
        "substitutions": c.substitutions,
        "deletions": c.deletions,
        "insertions": c.insertions,
    }


def to_markdown(report: Report, stem: str, patch: str = "") -> str:
    """A short read: the likely transcript errors in full, then each other kind's first few, and the
    possible transcript errors folded. ``patch`` says where the corrections are, or why there are none."""
    s = report.scores
    out = [
        f"# QA: {stem}",
        "",
        f"- Audio: `{report.alignment.audio}`, {clock(report.alignment.duration)}",
        f"- WER {percent(s.wer)} ({s.words.substitutions} substituted, {s.words.deletions} deleted, "
        f"{s.words.insertions} inserted of {_reference_size(s.words)} words); "
        f"CER {percent(s.cer)}",
        f"- Findings: {listed(report)}",
        *([f"- Corrections: {patch}"] if patch else []),
        f"- Full report with the diff, timeline and audio: `{stem}.qa.html`",
        "",
        f"*{NORMALISATION}*",
        "",
    ]
    likely = [f for f in report.findings if f.likely]
    out += [f"## Likely transcript errors ({len(likely)})", ""]
    if likely:
        out += [
            "The audio fits what was heard far better than what is written.",
            "",
            "| time | line | written | heard | corrected line |",
            "|---|---:|---|---|---|",
        ]
        out += [
            f"| {clock(f.start)} | {f.line} | {_cell(f.reference)} | {_cell(f.heard)} "
            f"| {_cell(f.corrected)} |"
            for f in likely
        ]
    else:
        out.append("None: where the ASR heard other words, the audio does not decide against the transcript.")
    out.append("")
    for title, kinds in SECTIONS:
        found = [f for f in report.findings if f.kind in kinds]
        if found:
            out += _table(f"{title} ({len(found)})", found[:MD_TOP])
    possible = [f for f in report.findings if f.kind is Kind.TRANSCRIPT_ERROR and not f.likely]
    if possible:
        out += [
            f"<details><summary>Possible transcript errors ({len(possible)}): the ASR heard other words, "
            "but the audio does not decide</summary>",
            "",
            *_table("", possible[:MD_TOP])[2:],
            "</details>",
            "",
        ]
    return "\n".join(out)


SECTIONS = (
    ("Unspoken lines", {Kind.UNSPOKEN}),
    ("Unscripted speech", {Kind.UNSCRIPTED}),
    ("Rule violations", {Kind.RULE_VIOLATION}),
    ("Other findings", {Kind.UNCERTAIN_TIMING, Kind.MISSING_TRANSLATION, Kind.MISSING_RUSSIAN}),
)


def _table(title: str, findings: list[Finding]) -> list[str]:
    out = [f"## {title}", "", "| score | kind | time | line | detail |", "|---:|---|---|---:|---|"]
    for f in findings:
        line = "" if f.line is None else str(f.line)
        out.append(f"| {f.score:.2f} | {f.kind.value} | {clock(f.start)} | {line} | {_cell(f.detail)} |")
    return [*out, ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
