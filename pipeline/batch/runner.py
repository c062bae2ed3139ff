"""A season of episodes in one process: incremental, parallel, resumable.

An episode is an audio file and a transcript with the same stem in the input
folder; its outputs go to ``OUT/<stem>/``. The model is loaded once and shared
by ``jobs`` worker threads, so while one episode holds the model another is
decoding, aligning or writing. Up-to-date episodes are skipped from the
manifest alone (no decoding); the rest share one stage cache, so a corrected
transcript re-runs alignment onward but not the transcription.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from pipeline import episode, qa
from pipeline.batch.inputs import Episode, find_episodes
from pipeline.batch.plan import identity, plan, settings_dict
from pipeline.batch.qa_index import write_batch_summary
from pipeline.batch.report import Summary, now, qa_entry, summarize
from pipeline.batch.state import (
    CACHE_DIR,
    EpisodeRecord,
    Manifest,
    Status,
    sweep_temp_files,
)
from pipeline.cache import StageCache
from pipeline.errors import SubpipeError
from pipeline.fileio import output_lock, staged
from pipeline.whisper import asr

# On CPU the model already spreads one episode over every core, and a second
# episode in flight only contends with it (measured slower on 2 cores); on a
# GPU a second episode keeps the CPU-side work (decoding, features, alignment
# search) going while the other holds the model.
DEFAULT_JOBS = {"cpu": 1, "cuda": 2}


class View(Protocol):
    """What a batch tells its caller as it goes (the CLI draws progress bars from it)."""

    def planned(self, records: Sequence[EpisodeRecord], todo: int) -> None: ...
    def started(self, stem: str) -> None: ...
    def progress(self, stem: str, stage: str, done: float, total: float) -> None: ...
    def finished(self, record: EpisodeRecord, error: BaseException | None) -> None: ...
    def close(self) -> None: ...


class QuietView:
    def planned(self, records: Sequence[EpisodeRecord], todo: int) -> None: ...
    def started(self, stem: str) -> None: ...
    def progress(self, stem: str, stage: str, done: float, total: float) -> None: ...
    def finished(self, record: EpisodeRecord, error: BaseException | None) -> None: ...
    def close(self) -> None: ...


class _Cancelled(Exception):
    """Raised inside a worker's progress callback so a thread left behind by Ctrl-C stops early."""


def run(
    in_dir: Path,
    out_root: Path,
    settings: episode.Settings | None = None,
    jobs: int | None = None,
    force: bool = False,
    wait_s: float = 5.0,
    engine: asr.Engine | None = None,
    view: View | None = None,
) -> Summary:
    """Bring every episode of ``in_dir`` up to date in ``out_root`` and return what happened.

    On Ctrl-C (KeyboardInterrupt) the episodes in progress are marked interrupted
    and the exception propagates at once, their threads still running: every
    file is written atomically and the manifest is current, so the caller
    should exit without waiting for them, as the CLI does.
    """
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be 1 or more, got {jobs}")
    started = time.monotonic()
    settings = settings or episode.Settings()
    view = view or QuietView()
    in_dir, out_root = Path(in_dir), Path(out_root)
    episodes = find_episodes(in_dir)
    # One lock keeps out a second batch and a plain run into OUT alike.
    with output_lock(out_root, wait_s, holder="batch"):
        sweep_temp_files(out_root, [e.stem for e in episodes])
        manifest = Manifest.load(out_root)
        run_id = uuid.uuid4().hex[:12]
        key = identity(settings)
        records, todo = plan(episodes, manifest, key, run_id, out_root, force)
        manifest.replace(
            records,
            input=str(in_dir.resolve()),
            settings=settings_dict(settings),
            identity=key,
            run=run_id,
            started=now(),
        )
        view.planned(records, len(todo))
        try:
            if todo:
                s = settings
                engine = engine or asr.load(s.model, s.device, s.compute_type, s.batch_size, s.language)
                worker = _Worker(manifest, out_root, settings, engine, view)
                jobs = jobs or DEFAULT_JOBS.get(engine.device, 1)
                _run_pool(worker, [(e, manifest.records[e.stem]) for e in todo], jobs)
        except KeyboardInterrupt:
            manifest.close(Status.INTERRUPTED)
            raise
        finally:
            view.close()
        summary = summarize(manifest, run_id, out_root, len(todo), time.monotonic() - started)
        pages = write_batch_summary(out_root, [qa_entry(out_root, r) for r in manifest.records.values()])
        pages_named = [str(p.relative_to(out_root)) for p in pages]
        manifest.set_meta(last_run=summary.as_dict(), summary_pages=pages_named, updated=now())
    return summary


class _Worker:
    """Runs one episode and records the outcome; safe to call from several threads."""

    def __init__(
        self,
        manifest: Manifest,
        out_root: Path,
        settings: episode.Settings,
        engine: asr.Engine,
        view: View,
    ) -> None:
        self.manifest, self.out_root, self.settings = manifest, out_root, settings
        self.engine, self.view = engine, view
        self.stop = threading.Event()

    def __call__(self, item: Episode, record: EpisodeRecord) -> None:
        if self.stop.is_set():
            return
        assert item.audio is not None and item.transcript is not None
        self.manifest.update(replace(record, status=Status.RUNNING))
        self.view.started(item.stem)

        def progress(stage: str, done: float, total: float) -> None:
            if self.stop.is_set():
                raise _Cancelled
            self.view.progress(item.stem, stage, done, total)

        cache = StageCache(self.out_root / CACHE_DIR)
        out_dir = self.out_root / item.stem
        error: BaseException | None = None
        try:
            # The episode's folder is held and staged as a plain run holds and stages
            # its OUT: a `subpipe run` into it meanwhile waits (or fails), and a failing
            # episode replaces none of its earlier outputs.
            with output_lock(out_dir, wait=0), staged(out_dir):
                result = episode.run(
                    item.audio, item.transcript, out_dir, self.settings, self.engine, progress, cache
                )
        except _Cancelled:
            record = replace(record, status=Status.INTERRUPTED)
        except SubpipeError as exc:
            error = exc
            record = replace(record, status=Status.FAILED, error=exc.message, exit_code=exc.exit_code)
        except Exception as exc:  # a bug in one episode must not cost the night's run
            error = exc
            message = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
            record = replace(record, status=Status.FAILED, error=message, exit_code=1)
        else:
            record = replace(
                record,
                status=Status.DONE,
                outputs=[str(p.relative_to(self.out_root)) for p in result.outputs],
                scores=qa.headline(result.qa_report.report) if result.qa_report else None,
                audio_seconds=round(result.alignment.duration, 3),
                stage_seconds={k: round(v, 3) for k, v in result.stage_seconds.items()},
                cache_hits=result.cache_hits,
            )
        if self.stop.is_set() and record.status is not Status.DONE:
            record = replace(record, status=Status.INTERRUPTED, error=None, exit_code=None)
        record = replace(record, finished=now())
        self.manifest.update(record)
        self.view.finished(record, error)


def _run_pool(worker: _Worker, items: list[tuple[Episode, EpisodeRecord]], jobs: int) -> None:
    """Run ``items`` on ``jobs`` threads; on Ctrl-C (or a failing manifest write) start no more
    and tell the running ones to stop."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items))), thread_name_prefix="episode")
    futures: list[Future[None]] = [pool.submit(worker, *item) for item in items]
    try:
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # the worker catches episode errors; anything here is a batch bug
    except BaseException:
        worker.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
