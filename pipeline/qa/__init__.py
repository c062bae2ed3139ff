"""The QA report: what a producer reads before publishing.

Data flow, after the aligner and the cue builder have run:

1. :mod:`~pipeline.qa.attribution` gives each ASR word to a transcript line or
   to a run of speech that matches no line;
2. :mod:`~pipeline.qa.scores` computes WER/CER overall and per line (jiwer);
3. :mod:`~pipeline.qa.findings` turns the evidence into ranked findings;
4. :mod:`~pipeline.qa.report_text` and :mod:`~pipeline.qa.report_html` write
   ``<stem>.qa.json``, ``<stem>.qa.md`` and the self-contained ``<stem>.qa.html``
   (timeline from :mod:`~pipeline.qa.timeline`, clips from :mod:`~pipeline.qa.clips`).

:func:`headline` gives the figures a batch lists (:mod:`pipeline.batch.qa_index`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.fileio import atomic_write_text
from pipeline.qa.build import Report, build
from pipeline.qa.clips import make_clips
from pipeline.qa.fmt import percent
from pipeline.qa.report_html import clip_stretches, render_page
from pipeline.qa.report_text import finding_counts, to_json, to_markdown

__all__ = ["SERIOUS", "SUFFIXES", "QAOutput", "Report", "build", "headline", "output_names", "write_reports"]

SERIOUS = 0.5  # a finding scored this or more needs a producer's look

SUFFIXES = ("qa.html", "qa.json", "qa.md")


@dataclass(frozen=True)
class QAOutput:
    report: Report
    paths: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        s = self.report.scores
        counts = finding_counts(self.report)
        listed = (
            ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items() if n) or "no findings"
        )
        return f"WER {percent(s.wer)}, CER {percent(s.cer)}; {listed}"


def output_names(stem: str) -> list[str]:
    return [f"{stem}.{suffix}" for suffix in SUFFIXES]


def headline(report: Report) -> dict[str, Any]:
    """The figures a batch lists per episode: WER, CER, findings by kind, how many are serious."""
    scores = [f.score for f in report.findings]
    return {
        "wer": report.scores.wer,
        "cer": report.scores.cer,
        "findings": len(scores),
        "serious": sum(1 for s in scores if s >= SERIOUS),
        "top_score": max(scores, default=0.0),
        "counts": finding_counts(report),
    }


def write_reports(out_dir: Path, stem: str, report: Report, samples: np.ndarray) -> QAOutput:
    """Write ``report`` as ``<stem>.qa.html`` (with audio clips cut from ``samples``), ``.qa.json``
    and ``.qa.md`` in ``out_dir``, each atomically; :func:`build` makes the report."""
    clips = make_clips(samples, clip_stretches(report))
    html_path, json_path, md_path = (Path(out_dir) / name for name in output_names(stem))
    atomic_write_text(html_path, render_page(report, stem, clips))
    atomic_write_text(json_path, json.dumps(to_json(report, stem), ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(md_path, to_markdown(report, stem) + "\n")
    return QAOutput(report, [html_path, json_path, md_path])
