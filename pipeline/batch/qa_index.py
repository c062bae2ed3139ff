"""The summary of a batch: ``index.html`` and ``summary.csv`` listing every episode, worst first.

:func:`write_batch_summary` takes one dict per episode::

    {
        "stem": "ep01",                       # str, the episode's name
        "status": "ok",                       # str, the batch's word for how the episode went
        "scores": {...},                      # dict | None: pipeline.qa.headline() of its report
        "qa_html": "OUT/ep01/ep01.qa.html",   # str | Path | None: its report page, if one was written
        "error": None,                        # str | None: one line saying why it failed
    }

The figures come from the manifest (the batch keeps each episode's
:func:`pipeline.qa.headline`), not from reading the reports back; an
episode without them is listed with its status and error. Worst
first means: episodes without a report (something failed), then those with the
most likely transcript errors, then the most findings that need a look
(score >= ``SERIOUS``), then higher WER.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from pipeline.fileio import atomic_write_text
from pipeline.qa import SERIOUS
from pipeline.qa.findings import Kind
from pipeline.qa.fmt import percent

CSP = "default-src 'none'; style-src 'unsafe-inline'"  # the index, too, never fetches anything
COLUMNS = [
    "stem",
    "status",
    "wer",
    "cer",
    "likely",
    "possible",
    "findings",
    "serious",
    *(k.value for k in Kind),
    "top_score",
    "report",
    "error",
]


@dataclass(frozen=True)
class Row:
    stem: str
    status: str
    error: str
    report: str  # the qa.html path relative to the index, "" when there is none
    wer: float | None = None
    cer: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    serious: int = 0
    top_score: float = 0.0
    likely: int = 0  # transcript errors the audio supports
    possible: int = 0  # transcript errors it does not decide

    @property
    def findings(self) -> int:
        return sum(self.counts.values())

    def sort_key(self) -> tuple[int, int, int, float, str]:
        return (0 if self.wer is None else 1, -self.likely, -self.serious, -(self.wer or 0.0), self.stem)

    def cells(self) -> dict[str, str]:
        out = {
            "stem": self.stem,
            "status": self.status,
            "wer": "" if self.wer is None else f"{self.wer:.4f}",
            "cer": "" if self.cer is None else f"{self.cer:.4f}",
            "likely": "" if self.wer is None else str(self.likely),
            "possible": "" if self.wer is None else str(self.possible),
            "findings": "" if self.wer is None else str(self.findings),
            "serious": "" if self.wer is None else str(self.serious),
            "top_score": "" if self.wer is None else f"{self.top_score:.3f}",
            "report": self.report,
            "error": self.error,
        }
        out.update({k.value: ("" if self.wer is None else str(self.counts.get(k.value, 0))) for k in Kind})
        return out


def write_batch_summary(out_root: Path, episodes: list[dict[str, Any]]) -> list[Path]:
    """Write ``out_root/index.html`` and ``out_root/summary.csv``; return their paths."""
    out_root = Path(out_root)
    rows = sorted((read_row(out_root, e) for e in episodes), key=Row.sort_key)
    html_path, csv_path = out_root / "index.html", out_root / "summary.csv"
    atomic_write_text(csv_path, render_csv(rows))
    atomic_write_text(html_path, render_index(rows))
    return [html_path, csv_path]


def read_row(out_root: Path, episode: dict[str, Any]) -> Row:
    stem = str(episode.get("stem", ""))
    status = str(episode.get("status", ""))
    error = " ".join(str(episode.get("error") or "").split())
    scores = episode.get("scores")
    if not scores:
        return Row(stem, status, error, "")
    html = episode.get("qa_html")
    report = os.path.relpath(html, out_root) if html else ""
    return Row(
        stem,
        status,
        error,
        report,
        float(scores["wer"]),
        float(scores["cer"]),
        dict(scores.get("counts", {})),
        int(scores.get("serious", 0)),
        float(scores.get("top_score", 0.0)),
        int(scores.get("likely", 0)),
        int(scores.get("possible", 0)),
    )


def render_csv(rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.cells())
    return buffer.getvalue()


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#1d2329}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 8px;border-bottom:1px solid #eceff2;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.failed td{background:#fde2e2}
th{font-size:12px;color:#5b6670}.note{color:#5b6670;font-size:12px}
"""


def render_index(rows: Sequence[Row]) -> str:
    kinds = [k.value for k in Kind]
    head = "".join(
        f"<th>{escape(c.replace('_', ' '))}</th>"
        for c in [
            "episode",
            "status",
            "likely",
            "possible",
            "WER",
            "CER",
            "findings",
            "serious",
            *kinds,
            "error",
        ]
    )
    body = []
    for row in rows:
        name = escape(row.stem)
        link = f'<a href="{escape(row.report)}">{name}</a>' if row.report else name
        cells = row.cells()
        numbers = [
            cells["likely"],
            cells["possible"],
            percent(row.wer) if row.wer is not None else "",
            percent(row.cer) if row.cer is not None else "",
            cells["findings"],
            cells["serious"],
            *(cells[k] for k in kinds),
        ]
        body.append(
            f'<tr class="{"failed" if row.wer is None else "ok"}">'
            f"<td>{link}</td><td>{escape(row.status)}</td>"
            + "".join(f'<td class="n">{escape(v)}</td>' for v in numbers)
            + f"<td>{escape(row.error)}</td></tr>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>QA summary</title><style>{STYLE}</style></head><body>"
        f"<h1>QA summary: {len(rows)} episodes</h1>"
        f'<p class="note">Worst first: episodes without a report, then by likely transcript errors (the '
        "audio supports what was heard over what is written), then by findings scoring "
        f"{SERIOUS} or more (serious), then by WER. Possible transcript errors are the ASR's disagreements "
        "the audio does not decide.</p>"
        f'<table id="episodes"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        "</body></html>\n"
    )
