"""One attempt at one episode, wherever it runs: in a batch's thread or on a Ray worker.

:func:`run_episode` runs the episode into an output root and sums up what
happened as an :class:`Outcome` of plain values (it crosses processes);
:func:`record_outcome` turns that into the episode's manifest record on the
machine that keeps the manifest.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline import episode, qa
from pipeline.batch.inputs import Episode
from pipeline.batch.report import now
from pipeline.batch.state import EpisodeRecord, Status
from pipeline.cache import StageCache
from pipeline.errors import SubpipeError
from pipeline.fileio import output_lock, staged
from pipeline.whisper import asr


class Cancelled(Exception):
    """Raised inside an episode's progress callback to stop it early (Ctrl-C on the batch)."""


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: DONE, FAILED or INTERRUPTED, and the numbers the manifest keeps."""

    status: Status
    error: str | None = None
    exit_code: int | None = None
    outputs: tuple[str, ...] = ()  # relative to the output root the episode was written in
    scores: dict[str, Any] | None = None  # the QA report's headline (pipeline.qa.headline)
    audio_seconds: float | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: tuple[str, ...] = ()
    trace: str | None = None  # the traceback of an internal error, for --verbose

    def renamed(self, names: dict[str, str]) -> Outcome:
        """The same outcome with paths in its error replaced (a worker's temp copies -> the inputs)."""
        if not self.error:
            return self
        error = self.error
        for old, new in names.items():
            error = error.replace(old, new)
        return replace(self, error=error)


def run_episode(
    item: Episode,
    out_root: Path,
    settings: episode.Settings,
    engine: asr.Engine,
    progress: Callable[[str, float, float], None] | None,
    cache: StageCache,
) -> tuple[Outcome, BaseException | None]:
    """Run ``item`` into ``out_root/<stem>/``; errors become a FAILED outcome, never escape.

    The episode's folder is held and staged as a plain run holds and stages its
    OUT: a ``subpipe run`` into it meanwhile waits (or fails), and a failing
    episode replaces none of its earlier outputs.
    """
    assert item.audio is not None and item.transcript is not None
    out_dir = out_root / item.stem
    try:
        with output_lock(out_dir, wait=0), staged(out_dir):
            result = episode.run(item.audio, item.transcript, out_dir, settings, engine, progress, cache)
    except Cancelled:
        return Outcome(Status.INTERRUPTED), None
    except SubpipeError as exc:
        return Outcome(Status.FAILED, exc.message, exc.exit_code), exc
    except Exception as exc:  # a bug in one episode must not cost the night's run
        message = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        return Outcome(Status.FAILED, message, 1, trace=traceback.format_exc()), exc
    outcome = Outcome(
        Status.DONE,
        outputs=tuple(str(p.relative_to(out_root)) for p in result.outputs),
        scores=qa.headline(result.qa_report.report) if result.qa_report else None,
        audio_seconds=round(result.alignment.duration, 3),
        stage_seconds={k: round(v, 3) for k, v in result.stage_seconds.items()},
        cache_hits=tuple(result.cache_hits),
    )
    return outcome, None


def record_outcome(record: EpisodeRecord, outcome: Outcome) -> EpisodeRecord:
    """The manifest record after ``outcome`` (its outputs already in place)."""
    if outcome.status is Status.DONE:
        return replace(
            record,
            status=Status.DONE,
            error=None,
            exit_code=None,
            outputs=list(outcome.outputs),
            scores=outcome.scores,
            audio_seconds=outcome.audio_seconds,
            stage_seconds=dict(outcome.stage_seconds),
            cache_hits=list(outcome.cache_hits),
            finished=now(),
        )
    if outcome.status is Status.FAILED:
        return replace(
            record, status=Status.FAILED, error=outcome.error, exit_code=outcome.exit_code, finished=now()
        )
    return replace(record, status=Status.INTERRUPTED, error=None, exit_code=None, finished=now())
