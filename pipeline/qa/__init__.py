"""The QA report: what a producer reads before publishing.

Data flow, after the aligner and the cue builder have run:

1. :mod:`~pipeline.qa.attribution` gives each ASR word to a transcript line or
   to a run of speech that matches no line;
2. :mod:`~pipeline.qa.scores` computes WER/CER overall and per line (jiwer);
3. :mod:`~pipeline.qa.findings` turns the evidence into ranked findings;
4. :mod:`~pipeline.qa.report_text` and :mod:`~pipeline.qa.report_html` write
   ``<stem>.qa.json``, ``<stem>.qa.md`` and the self-contained ``<stem>.qa.html``
   (timeline from :mod:`~pipeline.qa.timeline`, clips from :mod:`~pipeline.qa.clips`).

:mod:`~pipeline.batch.qa_index` writes the summary of a batch of episodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.fileio import atomic_write_text
from pipeline.qa.build import Report, build
from pipeline.qa.clips import make_clips
from pipeline.qa.fmt import percent
from pipeline.qa.report_html import clip_stretches, render_page
from pipeline.qa.report_text import finding_counts, to_json, to_markdown

if TYPE_CHECKING:
    from pipeline.episode import Result

__all__ = ["SUFFIXES", "QAOutput", "Report", "build", "output_names", "write_reports"]

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


def write_reports(out_dir: Path, stem: str, result: Result, samples: np.ndarray) -> QAOutput:
    """Build the report from a run's results and write its three files atomically.

    Rule violations come from ``result.violations`` when the run computed
    them, otherwise from :func:`pipeline.subtitles.cues.check_cues` on its cues.
    """
    violations = getattr(result, "violations", None)
    report = build(result.alignment, result.asr_words, result.cues, violations)
    clips = make_clips(samples, clip_stretches(report))
    html_path, json_path, md_path = (Path(out_dir) / name for name in output_names(stem))
    atomic_write_text(html_path, render_page(report, stem, clips))
    atomic_write_text(json_path, json.dumps(to_json(report, stem), ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(md_path, to_markdown(report, stem) + "\n")
    return QAOutput(report, [html_path, json_path, md_path])
