"""Episodes handed to model workers on a Ray cluster; the driver keeps the manifest and OUT.

Each worker is a Ray actor holding one model (:class:`pipeline.batch.remote.EpisodeWorker`).
The driver sends an episode's inputs to an idle worker and, unless OUT is
shared, writes the files it sends back, so the manifest records an episode
only once its outputs are in place, and only once.

A worker that dies mid-episode (killed, out of memory, its node lost) costs
that episode's progress: Ray restarts the worker (it loads its model again)
and the episode goes to another worker, once. Lost a second time, it is
recorded as failed and the next batch tries it again.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline import episode
from pipeline.batch import remote
from pipeline.batch.attempt import Outcome, record_outcome
from pipeline.batch.cluster import RayOptions, WorkerSpec, size_workers
from pipeline.batch.inputs import Episode
from pipeline.batch.progress import View
from pipeline.batch.state import CACHE_DIR, EpisodeRecord, Manifest, Status, code_digest
from pipeline.cache import StageCache
from pipeline.errors import InputNotFound, SubpipeError
from pipeline.fileio import atomic_write_bytes, output_lock, staged

RETRIES = 1  # a lost episode is run again this many times
# Ray restarts a dead worker this often; more deaths mean something is wrong on its node.
WORKER_RESTARTS = 2
POLL_S = 0.5  # how often running workers are asked for their progress
# With work left and no worker alive for this long (restarts pending on lost nodes), the rest fails.
NO_WORKER_S = 300.0
# On Ctrl-C with a shared OUT, workers get this long to stop where no file is half replaced.
CANCEL_GRACE_S = 5.0


class RemoteError(Exception):
    """An internal error on a worker, carried home as its traceback text (for --verbose)."""


@dataclass
class _Attempt:
    item: Episode
    record: EpisodeRecord
    lost_on: list[int] = field(default_factory=list)  # the workers it was lost on


@dataclass
class _Worker:
    index: int
    spec: WorkerSpec
    actor: Any
    node: str = "?"
    ready: bool = False
    dead: bool = False
    starting: Any = None  # the start() call in flight
    polling: Any = None  # the progress() call in flight
    polled_at: float = 0.0
    running: dict[Any, _Attempt] = field(default_factory=dict)  # run() calls in flight


@dataclass
class Context:
    """What the dispatcher needs from the batch."""

    manifest: Manifest
    out_root: Path
    settings: episode.Settings
    options: RayOptions
    slots: int  # episodes in flight per worker
    view: View


def run(ray: Any, context: Context, items: Sequence[tuple[Episode, EpisodeRecord]]) -> None:
    """Run ``items`` on model workers sized from the cluster's nodes."""
    device = context.settings.device
    specs = size_workers(ray.nodes(), device, context.options.cpus_per_worker)
    if not specs:
        raise SubpipeError(None, f"the Ray cluster has no {'GPU' if device == 'cuda' else 'CPU'} for a model")
    Dispatcher(ray, context, specs).run(items)


class Dispatcher:
    def __init__(self, ray: Any, context: Context, specs: Sequence[WorkerSpec]) -> None:
        self.ray, self.c = ray, context
        self.errors: list[remote.Started] = []  # why workers could not start
        self.ever_ready = False
        self.names: dict[str, str] = {}  # Ray's node ids -> the names the batch shows
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        actor_class = ray.remote(remote.EpisodeWorker)
        shared = str(context.out_root.resolve()) if context.options.shared_out else None
        self.workers = []
        for index, spec in enumerate(specs):
            actor = actor_class.options(
                num_cpus=spec.cpus,
                num_gpus=spec.gpus,
                max_restarts=WORKER_RESTARTS,
                max_task_retries=0,  # a lost episode is sent again by the driver, to another worker
                max_concurrency=context.slots + 2,  # progress() and cancel() answer while episodes run
                # soft: a worker whose node is lost may come back on another node
                scheduling_strategy=NodeAffinitySchedulingStrategy(spec.node_id, soft=True),
            ).remote(context.settings, spec.cpus or None, shared)
            worker = _Worker(index, spec, actor)
            worker.starting = actor.start.remote()
            self.workers.append(worker)

    # ------------------------------------------------------------------ the loop

    def run(self, items: Sequence[tuple[Episode, EpisodeRecord]]) -> None:
        queue = deque(_Attempt(item, record) for item, record in items)
        alive_at = time.monotonic()
        try:
            while queue or self._running():
                self._assign(queue)
                calls = self._calls()
                if not calls:
                    self._give_up(queue, "no Ray worker could start")
                    return
                ready, _ = self.ray.wait(calls, num_returns=1, timeout=POLL_S)
                if ready:
                    ready, _ = self.ray.wait(calls, num_returns=len(calls), timeout=0)
                for ref in ready:
                    self._finished_call(ref, queue)
                self._poll()
                if any(w.ready or w.running for w in self.workers):
                    alive_at = time.monotonic()
                elif time.monotonic() - alive_at > NO_WORKER_S:
                    self._give_up(queue, f"no Ray worker alive for {NO_WORKER_S:.0f} s")
                    return
        except BaseException:
            self.stop()
            raise
        self.stop()

    def stop(self) -> None:
        """End every worker (Ctrl-C, or the batch is over); with a shared OUT, ask them to stop first."""
        busy = [w for w in self.workers if w.running and not w.dead]
        if busy and self.c.options.shared_out:
            for worker in busy:
                worker.actor.cancel.remote()
            refs = [ref for w in busy for ref in w.running]
            self.ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
        for worker in self.workers:
            _kill(self.ray, worker.actor)
            worker.dead = True

    def _running(self) -> bool:
        return any(w.running for w in self.workers)

    def _calls(self) -> list[Any]:
        calls = []
        for worker in self.workers:
            calls += [c for c in (worker.starting, worker.polling) if c is not None]
            calls += list(worker.running)
        return calls

    # ------------------------------------------------------------------ handing out episodes

    def _assign(self, queue: deque[_Attempt]) -> None:
        for worker in self.workers:
            while worker.ready and len(worker.running) < self.c.slots and queue:
                attempt = self._take(queue, worker)
                if attempt is None:
                    break
                self._send(worker, attempt)

    def _take(self, queue: deque[_Attempt], worker: _Worker) -> _Attempt | None:
        """The first episode not lost on ``worker`` before; any, when no other worker is up.

        Only workers up now count: one whose restart waits for a lost node may never come back.
        """
        others = any(w.ready or w.running for w in self.workers if w is not worker)
        for attempt in queue:
            if worker.index not in attempt.lost_on or not others:
                queue.remove(attempt)
                return attempt
        return None

    def _send(self, worker: _Worker, attempt: _Attempt) -> None:
        item = attempt.item
        assert item.audio is not None and item.transcript is not None
        record = replace(
            attempt.record, status=Status.RUNNING, node=worker.node, attempts=attempt.record.attempts + 1
        )
        attempt.record = record
        self.c.manifest.update(record)
        self.c.view.started(item.stem, worker.node)
        try:
            job = remote.Job(
                item.stem,
                item.audio.name,
                item.audio.read_bytes(),
                item.transcript.name,
                item.transcript.read_bytes(),
                (str(item.audio), str(item.transcript)),
                () if self.c.options.shared_out else self._cache_entries(item),
                _setting_files(self.c.settings),
            )
        except OSError as exc:  # gone or unreadable since the batch was planned
            message = f"{exc.filename}: cannot read ({exc.strerror or exc})"
            self._record(attempt, Outcome(Status.FAILED, message, InputNotFound.exit_code), None, None)
            return
        worker.running[worker.actor.run.remote(job)] = attempt

    def _cache_entries(self, item: Episode) -> tuple[remote.CacheEntry, ...]:
        assert item.audio is not None and item.transcript is not None
        cache = StageCache(self.c.out_root / CACHE_DIR)
        entries = []
        for stage, key in episode.cache_keys(item.audio, item.transcript, self.c.settings).items():
            value = cache.get(stage, key, _as_is)
            if value is not None:
                entries.append((stage, key, value))
        return tuple(entries)

    # ------------------------------------------------------------------ answers

    def _finished_call(self, ref: Any, queue: deque[_Attempt]) -> None:
        for worker in self.workers:
            if worker.starting is not None and ref == worker.starting:
                worker.starting = None
                self._started(worker, ref)
                return
            if worker.polling is not None and ref == worker.polling:
                worker.polling = None
                self._progress(worker, ref)
                return
            attempt = worker.running.pop(ref, None)
            if attempt is not None:
                self._ran(worker, attempt, ref, queue)
                return

    def _started(self, worker: _Worker, ref: Any) -> None:
        from ray.exceptions import RayError

        try:
            started: remote.Started = self.ray.get(ref)
        except RayError as exc:  # the worker could not be placed, or died for good
            self._retire(worker, remote.Started(worker.node, error=f"Ray worker lost ({_first_line(exc)})"))
            return
        worker.node = self._name(started.node)
        if started.error is None and started.code != code_digest():
            other = "runs other subpipe code than this machine; install the same subpipe on every node"
            started = replace(started, error=other)
        if started.error is not None:
            where = f"{started.error} (on {worker.node})"
            self._retire(worker, replace(started, node=worker.node, error=where))
            return
        worker.ready = self.ever_ready = True

    def _name(self, node_id: str) -> str:
        """A node as the batch names it: the address Ray knows it by, and the start of its id."""
        if node_id not in self.names:
            nodes = self.ray.nodes()
            self.names = {n["NodeID"]: f"{n['NodeManagerAddress']}/{n['NodeID'][:8]}" for n in nodes}
        return self.names.get(node_id, node_id[:8])

    def _retire(self, worker: _Worker, why: remote.Started) -> None:
        self.errors.append(why)
        worker.dead, worker.ready = True, False
        _kill(self.ray, worker.actor)
        if not all(w.dead for w in self.workers):
            self.c.view.note(f"ray: a worker is left out: {why.error}")

    def _progress(self, worker: _Worker, ref: Any) -> None:
        from ray.exceptions import RayError

        try:
            found: dict[str, tuple[str, float, float]] = self.ray.get(ref)
        except RayError:
            return  # the worker is gone: its run() call says so
        for stem, (stage, done, total) in found.items():
            self.c.view.progress(stem, stage, done, total)

    def _poll(self) -> None:
        now = time.monotonic()
        for worker in self.workers:
            if worker.running and worker.polling is None and now - worker.polled_at >= POLL_S:
                worker.polling = worker.actor.progress.remote()
                worker.polled_at = now

    def _ran(self, worker: _Worker, attempt: _Attempt, ref: Any, queue: deque[_Attempt]) -> None:
        from ray.exceptions import RayError, RayTaskError

        try:
            returned: remote.Returned = self.ray.get(ref)
        except RayTaskError as exc:  # a bug in the worker's own code, not in the episode
            outcome = Outcome(Status.FAILED, f"internal error on {worker.node}: {_first_line(exc)}", 1)
            self._record(attempt, outcome, worker.node, RemoteError(str(exc)))
            return
        except RayError as exc:  # the worker died, or its node was lost
            self._lost(worker, attempt, exc, queue)
            return
        outcome = returned.outcome
        if not self.c.options.shared_out:
            outcome = self._write(attempt.item.stem, returned)
        error = RemoteError(outcome.trace) if outcome.trace else None
        self._record(attempt, outcome, self._name(returned.node), error)

    def _lost(self, worker: _Worker, attempt: _Attempt, exc: Exception, queue: deque[_Attempt]) -> None:
        stem, node = attempt.item.stem, worker.node
        worker.ready = False
        if worker.polling is not None:
            worker.polling = None
        if not worker.dead and worker.starting is None:
            worker.starting = worker.actor.start.remote()  # answered once Ray has restarted it
        attempt.lost_on.append(worker.index)
        if len(attempt.lost_on) <= RETRIES:
            self.c.view.requeued(stem, f"the Ray worker on {node} was lost; running it again elsewhere")
            attempt.record = replace(attempt.record, status=Status.PENDING)
            self.c.manifest.update(attempt.record)
            queue.appendleft(attempt)
            return
        times = len(attempt.lost_on)
        message = f"the Ray workers running it were lost {times} times, last on {node} ({_first_line(exc)})"
        self._record(attempt, Outcome(Status.FAILED, message, 1), node, None)

    def _write(self, stem: str, returned: remote.Returned) -> Outcome:
        """Put a worker's cache entries and, as a plain run would, its outputs in place in OUT."""
        out_root = self.c.out_root
        cache = StageCache(out_root / CACHE_DIR)
        for stage, key, value in returned.cache:
            cache.put(stage, key, value)
        outcome = returned.outcome
        if outcome.status is not Status.DONE:
            return outcome
        out_dir = out_root / stem
        try:
            with output_lock(out_dir, wait=0), staged(out_dir):
                for name, data in returned.files.items():
                    path = out_root / name
                    if path.parent.resolve() != out_dir.resolve():
                        raise SubpipeError(out_dir, f"a worker sent a file outside this folder: {name}")
                    atomic_write_bytes(path, data)
        except SubpipeError as exc:
            return Outcome(Status.FAILED, exc.message, exc.exit_code)
        return outcome

    def _record(
        self, attempt: _Attempt, outcome: Outcome, node: str | None, error: BaseException | None
    ) -> None:
        record = record_outcome(replace(attempt.record, node=node), outcome)
        self.c.manifest.update(record)
        self.c.view.finished(record, error)

    def _give_up(self, queue: deque[_Attempt], why: str) -> None:
        """No worker left. With none ever started, the workers' own error ends the batch (a missing
        model is exit 6, as locally); otherwise the episodes left fail, for the next batch to retry."""
        first = next((e for e in self.errors if e.error), None)
        if not self.ever_ready and first is not None:
            raise _coded(first)
        detail = f": {first.error}" if first is not None else ""
        while queue:
            attempt = queue.popleft()
            self._record(attempt, Outcome(Status.FAILED, f"{why}{detail}", 1), attempt.record.node, None)


def _coded(started: remote.Started) -> SubpipeError:
    error = SubpipeError(None, started.error or "a Ray worker could not start")
    error.exit_code = started.exit_code or 1  # the worker's error class's code (6 for a missing model)
    return error


def _as_is(value: Any) -> Any:
    """A cache entry sent on as it is stored: the worker's episode checks its shape."""
    return value


def _kill(ray: Any, actor: Any) -> None:
    with contextlib.suppress(Exception):  # already gone; Ray says so in more ways than one
        ray.kill(actor, no_restart=True)


def _setting_files(settings: episode.Settings) -> dict[str, tuple[str, bytes]]:
    """The settings that name a file here (a profile .toml, an --en file), with the file's bytes.

    Found as the manifest's identity finds them (a string naming a file), so no such setting is missed.
    """
    named = {k: v for k, v in asdict(settings).items() if isinstance(v, str) and Path(v).is_file()}
    return {k: (Path(v).name, Path(v).read_bytes()) for k, v in named.items()}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
