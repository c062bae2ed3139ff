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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import episode
from pipeline.batch.attempt import Cancelled, Outcome, record_outcome, run_episode
from pipeline.batch.inputs import Episode, find_episodes
from pipeline.batch.plan import identity, plan, settings_dict
from pipeline.batch.progress import QuietView, View
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
from pipeline.fileio import output_lock
from pipeline.whisper import asr

if TYPE_CHECKING:
    from pipeline.batch.cluster import RayOptions

# On CPU the model already spreads one episode over every core, and a second
# episode in flight only contends with it (measured slower on 2 cores); on a
# GPU a second episode keeps the CPU-side work (decoding, features, alignment
# search) going while the other holds the model.
DEFAULT_JOBS = {"cpu": 1, "cuda": 2}


def run(
    in_dir: Path,
    out_root: Path,
    settings: episode.Settings | None = None,
    jobs: int | None = None,
    force: bool = False,
    wait_s: float = 5.0,
    engine: asr.Engine | None = None,
    view: View | None = None,
    ray: RayOptions | None = None,
) -> Summary:
    """Bring every episode of ``in_dir`` up to date in ``out_root`` and return what happened.

    With ``ray``, the episodes run on a Ray cluster's model workers (``jobs`` then
    counts episodes in flight per worker); this process keeps the manifest,
    the lock and, unless OUT is shared, writes every output.

    On Ctrl-C (KeyboardInterrupt) the episodes in progress are marked interrupted
    and the exception propagates at once, their threads still running: every
    file is written atomically and the manifest is current, so the caller
    should exit without waiting for them, as the CLI does.
    """
    started = time.monotonic()
    settings = settings or episode.Settings()
    view = view or QuietView()
    in_dir, out_root = Path(in_dir), Path(out_root)
    episodes = find_episodes(in_dir)
    ray_api = None  # the ray module, once this process has joined the cluster
    try:
        # One lock keeps out a second batch and a plain run into OUT alike.
        with output_lock(out_root, wait_s, holder="batch"):
            sweep_temp_files(out_root, [e.stem for e in episodes])
            manifest = Manifest.load(out_root)
            run_id = uuid.uuid4().hex[:12]
            asked = settings
            if ray is not None:
                from pipeline.batch import cluster

                settings = cluster.last_device(settings, manifest.meta)
            records, todo = plan(episodes, manifest, identity(settings), run_id, out_root, force)
            if todo and ray is not None:
                # Only a batch with work joins the cluster, whose device may make more of it.
                ray_api = cluster.connect(ray)
                resolved = cluster.resolve_settings(asked, ray_api.nodes())
                if identity(resolved) != identity(settings):
                    records, todo = plan(episodes, manifest, identity(resolved), run_id, out_root, force)
                settings = resolved
            key = identity(settings)
            manifest.replace(
                records,
                input=str(in_dir.resolve()),
                settings=settings_dict(settings),
                identity=key,
                run=run_id,
                started=now(),
            )
            view.planned(records, len(todo))
            items = [(e, manifest.records[e.stem]) for e in todo]
            try:
                if items and ray_api is not None and ray is not None:
                    from pipeline.batch import dispatch

                    slots = jobs or DEFAULT_JOBS.get(settings.device, 1)
                    context = dispatch.Context(manifest, out_root, settings, ray, slots, view)
                    dispatch.run(ray_api, context, items)
                elif items:
                    s = settings
                    engine = engine or asr.load(s.model, s.device, s.compute_type, s.batch_size, s.language)
                    worker = _Worker(manifest, out_root, settings, engine, view)
                    _run_pool(worker, items, jobs or DEFAULT_JOBS.get(engine.device, 1))
            except KeyboardInterrupt:
                manifest.close(Status.INTERRUPTED)
                raise
            finally:
                view.close()
            summary = summarize(manifest, run_id, out_root, len(todo), time.monotonic() - started)
            pages = write_batch_summary(out_root, [qa_entry(out_root, r) for r in manifest.records.values()])
            pages_named = [str(p.relative_to(out_root)) for p in pages]
            manifest.set_meta(last_run=summary.as_dict(), summary_pages=pages_named, updated=now())
    finally:
        if ray_api is not None:
            ray_api.shutdown()
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
        self.manifest.update(replace(record, status=Status.RUNNING))
        self.view.started(item.stem)

        def progress(stage: str, done: float, total: float) -> None:
            if self.stop.is_set():
                raise Cancelled
            self.view.progress(item.stem, stage, done, total)

        cache = StageCache(self.out_root / CACHE_DIR)
        outcome, error = run_episode(item, self.out_root, self.settings, self.engine, progress, cache)
        if self.stop.is_set() and outcome.status is not Status.DONE:
            outcome = Outcome(Status.INTERRUPTED)
        record = record_outcome(record, outcome)
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
