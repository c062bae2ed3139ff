"""The QA report: what a producer reads before publishing.

Data flow, after the aligner and the cue builder have run:

1. :mod:`~pipeline.qa.attribution` gives each ASR word to a transcript line or
   to a run of speech that matches no line;
2. :mod:`~pipeline.qa.scores` computes WER/CER overall and per line (jiwer);
3. :mod:`~pipeline.qa.verdict` asks the audio, through a scorer the run passes
   in, whether each difference is a transcript error (``likely``) or may be the
   ASR's slip (``possible``);
4. :mod:`~pipeline.qa.findings` turns the evidence into ranked findings;
5. :mod:`~pipeline.qa.report_text` and :mod:`~pipeline.qa.report_html` write
   ``<stem>.qa.json``, ``<stem>.qa.md`` and the self-contained ``<stem>.qa.html``
   (timeline from :mod:`~pipeline.qa.timeline`, clips from :mod:`~pipeline.qa.clips`),
   and :mod:`~pipeline.qa.patch` the likely corrections as ``<stem>.qa.patch``.

:func:`headline` gives the figures a batch lists (:mod:`pipeline.batch.qa_index`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.fileio import atomic_write_bytes, atomic_write_text
from pipeline.qa.build import Report, build
from pipeline.qa.clips import make_clips
from pipeline.qa.fmt import percent
from pipeline.qa.patch import NO_PATCH, Patch, make_patch
from pipeline.qa.report_html import clip_stretches, render_page
from pipeline.qa.report_text import finding_counts, listed, tier_counts, to_json, to_markdown
from pipeline.transcript import Source

__all__ = [
    "PATCH_SUFFIX",
    "SERIOUS",
    "SUFFIXES",
    "QAOutput",
    "Report",
    "build",
    "headline",
    "output_names",
    "write_reports",
]

SERIOUS = 0.5  # a finding scored this or more needs a producer's look

SUFFIXES = ("qa.html", "qa.json", "qa.md")
PATCH_SUFFIX = "qa.patch"


@dataclass(frozen=True)
class QAOutput:
    report: Report
    paths: list[Path] = field(default_factory=list)
    patch: Patch = NO_PATCH
    patch_path: Path | None = None

    def summary(self) -> str:
        s = self.report.scores
        return f"WER {percent(s.wer)}, CER {percent(s.cer)}; {listed(self.report)}{self.patch_note()}"

    def patch_note(self) -> str:
        """Where the likely corrections are, or why they are not in a patch: "" when there are none."""
        if self.patch_path is not None:
            return f" (corrections in {self.patch_path.name})"
        return f" ({self.patch.note})" if self.patch.note else ""


def output_names(stem: str) -> list[str]:
    return [f"{stem}.{suffix}" for suffix in SUFFIXES]


def headline(report: Report) -> dict[str, Any]:
    """The figures a batch lists per episode: WER, CER, findings by kind, transcript errors by verdict,
    how many findings are serious."""
    scores = [f.score for f in report.findings]
    return {
        "wer": report.scores.wer,
        "cer": report.scores.cer,
        "findings": len(scores),
        "serious": sum(1 for s in scores if s >= SERIOUS),
        "top_score": max(scores, default=0.0),
        "counts": finding_counts(report),
        **tier_counts(report),
    }


def write_reports(
    out_dir: Path, stem: str, report: Report, samples: np.ndarray, source: Source | None = None
) -> QAOutput:
    """Write ``report`` as ``<stem>.qa.html`` (with audio clips cut from ``samples``), ``.qa.json``
    and ``.qa.md`` in ``out_dir``, each atomically; :func:`build` makes the report. With the
    transcript's ``source``, the likely corrections go to ``<stem>.qa.patch`` (a patch of an
    earlier run that no longer applies is removed)."""
    out_dir = Path(out_dir)
    patch_path = out_dir / f"{stem}.{PATCH_SUFFIX}"
    patch = (
        make_patch(source, report.findings, source.path.name) if source is not None else Patch(None, 0, "")
    )
    note = (
        f"`{patch_path.name}` (apply in the transcript's folder: `git apply {patch_path.name}`)"
        if patch.data is not None
        else patch.note
    )
    clips = make_clips(samples, clip_stretches(report))
    html_path, json_path, md_path = (out_dir / name for name in output_names(stem))
    atomic_write_text(html_path, render_page(report, stem, clips, note))
    atomic_write_text(json_path, json.dumps(to_json(report, stem), ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(md_path, to_markdown(report, stem, note) + "\n")
    paths = [html_path, json_path, md_path]
    if patch.data is not None:
        atomic_write_bytes(patch_path, patch.data)
        paths.append(patch_path)
        return QAOutput(report, paths, patch, patch_path)
    patch_path.unlink(missing_ok=True)
    return QAOutput(report, paths, patch)
