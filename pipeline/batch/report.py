"""What a batch run reports: the summary line, and the QA numbers and pages per episode."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.batch.state import MANIFEST_NAME, EpisodeRecord, Manifest, Status
from pipeline.errors import BatchError


@dataclass
class Summary:
    out_root: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unchanged_failures: list[str] = field(default_factory=list)  # not retried: same inputs
    unpaired: list[str] = field(default_factory=list)
    attempted: int = 0  # episodes this run worked on
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    likely: dict[str, int] = field(default_factory=dict)  # likely transcript errors per episode with any

    def line(self) -> str:
        failed = f"{len(self.failed)} failed"
        if self.unchanged_failures:
            failed += f" ({len(self.unchanged_failures)} not retried, inputs unchanged)"
        counts = [f"{len(self.done)} done", f"{len(self.skipped)} skipped as up to date", failed]
        if self.unpaired:
            counts.append(f"{len(self.unpaired)} unpaired")
        lead = "batch: nothing to do: " if self.attempted == 0 else "batch: "
        return (
            f"{lead}{', '.join(counts)}; {self.audio_seconds / 3600:.2f} h of audio "
            f"in {_clock(self.wall_seconds)}{self._likely()} -> {self.out_root}/{MANIFEST_NAME}"
        )

    def _likely(self) -> str:
        """The QA's headline: likely transcript errors, and the episodes with most (index.html lists all)."""
        if not self.likely:
            return ""
        total = sum(self.likely.values())
        worst = sorted(self.likely, key=lambda stem: (-self.likely[stem], stem))
        names = ", ".join(worst[:3]) + (", ..." if len(worst) > 3 else "")
        episodes = f"{len(worst)} episode{'s' if len(worst) != 1 else ''}"
        return f"; QA: {total} likely transcript error{'s' if total != 1 else ''} in {episodes} ({names})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "done": len(self.done),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "unpaired": len(self.unpaired),
            "audio_hours": round(self.audio_seconds / 3600, 4),
            "wall_seconds": round(self.wall_seconds, 2),
            "likely": sum(self.likely.values()),
        }

    def check(self) -> None:
        """Raise :class:`BatchError` when any episode failed (the others are finished)."""
        if self.failed:
            total = len(self.done) + len(self.skipped) + len(self.failed)
            names = ", ".join(self.failed[:8]) + (", ..." if len(self.failed) > 8 else "")
            raise BatchError(
                self.out_root / MANIFEST_NAME,
                f"{len(self.failed)} of {total} episodes failed ({names}); their errors are listed there",
            )


def summarize(manifest: Manifest, run_id: str, out_root: Path, attempted: int, wall: float) -> Summary:
    summary = Summary(out_root, attempted=attempted, wall_seconds=wall)
    for stem in sorted(manifest.records):
        record = manifest.records[stem]
        this_run = record.run == run_id
        if record.status is Status.DONE and (record.scores or {}).get("likely"):
            summary.likely[stem] = int((record.scores or {})["likely"])
        if record.status is Status.DONE and this_run:
            summary.done.append(stem)
            summary.audio_seconds += record.audio_seconds or 0.0
        elif record.status is Status.DONE:
            summary.skipped.append(stem)
        elif record.status is Status.FAILED:
            summary.failed.append(stem)
            if not this_run:
                summary.unchanged_failures.append(stem)
        elif record.status is Status.UNPAIRED:
            summary.unpaired.append(stem)
    return summary


def qa_entry(out_root: Path, record: EpisodeRecord) -> dict[str, Any]:
    """One episode as :func:`pipeline.batch.qa_index.write_batch_summary` lists it: its manifest figures."""
    page = out_root / record.stem / f"{record.stem}.qa.html"
    done = record.status is Status.DONE and record.scores is not None
    return {
        "stem": record.stem,
        "status": record.status.value,
        "scores": record.scores if done else None,
        "qa_html": page if done and page.is_file() else None,
        "error": record.error,
    }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clock(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
