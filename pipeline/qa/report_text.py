"""``<stem>.qa.json`` for tools and ``<stem>.qa.md`` for a quick read.

The JSON's ``wer``, ``cer`` and ``findings`` keep one shape tools can rely on
(``{"kind", "line", "start", "end", "score", "reference", "heard", "detail"}``
per finding, most important first); the other top-level keys add detail.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline.qa.build import Report
from pipeline.qa.diff import NORMALISATION
from pipeline.qa.findings import Kind
from pipeline.qa.fmt import clock, percent
from pipeline.qa.scores import Counts

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
    return {
        "wer": round(report.scores.wer, 4),
        "cer": round(report.scores.cer, 4),
        "findings": [f.to_dict() for f in report.findings],
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


def _reference_size(c: Counts) -> int:
    return c.hits + c.substitutions + c.deletions


def _counts(c: Counts) -> dict[str, int]:
    return {
        "hits": c.hits,
        "substitutions": c.substitutions,
        "deletions": c.deletions,
        "insertions": c.insertions,
    }


def to_markdown(report: Report, stem: str) -> str:
    s = report.scores
    counts = finding_counts(report)
    out = [
        f"# QA: {stem}",
        "",
        f"- Audio: `{report.alignment.audio}`, {clock(report.alignment.duration)}",
        f"- WER {percent(s.wer)} ({s.words.substitutions} substituted, {s.words.deletions} deleted, "
        f"{s.words.insertions} inserted of {_reference_size(s.words)} words); "
        f"CER {percent(s.cer)}",
        "- Findings: "
        + (", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items() if n) or "none"),
        f"- Full report with the diff, timeline and audio: `{stem}.qa.html`",
        "",
        f"*{NORMALISATION}*",
        "",
    ]
    if report.findings:
        out += [
            f"## Top {min(MD_TOP, len(report.findings))} findings",
            "",
            "| score | kind | time | line | detail |",
            "|---:|---|---|---:|---|",
        ]
        for f in report.findings[:MD_TOP]:
            line = "" if f.line is None else str(f.line)
            detail = f.detail.replace("|", "\\|")
            out.append(f"| {f.score:.2f} | {f.kind.value} | {clock(f.start)} | {line} | {detail} |")
        out.append("")
    return "\n".join(out)
