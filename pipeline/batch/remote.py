"""A batch's worker on a Ray cluster: one Whisper model, loaded once, running the episodes it is sent.

The class is plain Python; :mod:`pipeline.batch.dispatch` makes it a Ray actor.
Everything it takes and gives back is plain values: the episode's audio and
transcript as bytes, the stage-cache entries it may reuse, and, unless OUT is
shared, its output files and new cache entries as bytes, so that only the
driver writes to OUT.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline import episode
from pipeline.batch.attempt import Cancelled, Outcome, run_episode
from pipeline.batch.inputs import Episode
from pipeline.batch.state import CACHE_DIR, MANIFEST_NAME, Status, code_digest
from pipeline.cache import StageCache
from pipeline.errors import SubpipeError
from pipeline.fileio import scratch_folder
from pipeline.whisper import asr

CacheEntry = tuple[str, str, Any]  # stage, key, the JSON value
_SCRATCH = "subpipe-ray-"  # a worker's copy of an episode's inputs and outputs


@dataclass(frozen=True)
class Job:
    """One episode as the driver sends it."""

    stem: str
    audio_name: str
    audio: bytes
    transcript_name: str
    transcript: bytes
    inputs: tuple[str, str]  # the driver's paths of audio and transcript, for messages
    cache: tuple[CacheEntry, ...] = ()  # stage-cache entries the episode may reuse
    # Settings that name a file on the driver (a profile .toml, --en): field -> (file name, bytes)
    setting_files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass(frozen=True)
class Returned:
    """What a worker sends back for a job."""

    outcome: Outcome
    node: str  # Ray's id of the node it ran on
    files: dict[str, bytes] = field(default_factory=dict)  # outputs by path relative to OUT
    cache: tuple[CacheEntry, ...] = ()  # stage-cache entries the episode made


@dataclass(frozen=True)
class Started:
    """A worker ready for work (``error`` is None), or why it cannot take any."""

    node: str  # Ray's id of the node it runs on
    code: str = ""
    engine: str = ""
    error: str | None = None
    exit_code: int | None = None


class _RecordingCache(StageCache):
    """A stage cache that remembers what was put into it, to send the entries back."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.made: list[CacheEntry] = []

    def put(self, stage: str, key: str, value: Any) -> None:
        super().put(stage, key, value)
        self.made.append((stage, key, value))


def node_id() -> str:
    """Ray's id of the node this process runs on (the driver names it by the address Ray knows)."""
    import ray

    return str(ray.get_runtime_context().get_node_id())


class EpisodeWorker:
    """Runs episodes with one model; ``progress`` and ``cancel`` answer while an episode runs."""

    def __init__(self, settings: episode.Settings, cores: int | None, shared_out: str | None) -> None:
        self.settings, self.cores, self.shared_out = settings, cores, shared_out
        self._engine: asr.Engine | None = None
        self._progress: dict[str, tuple[str, float, float]] = {}
        self._stop = threading.Event()
        self._load_lock = threading.Lock()

    def start(self) -> Started:
        """Load the model (once; a restarted worker loads it again) and say where this worker runs."""
        node = node_id()
        try:
            if self.shared_out is not None and not (Path(self.shared_out) / MANIFEST_NAME).is_file():
                problem = f"--shared-out, but this node does not see this OUT (no {MANIFEST_NAME} there)"
                raise SubpipeError(self.shared_out, problem)
            engine = self._loaded()
        except SubpipeError as exc:
            return Started(node, error=exc.message, exit_code=exc.exit_code)
        return Started(node, code=code_digest(), engine=engine.describe())

    def progress(self) -> dict[str, tuple[str, float, float]]:
        return dict(self._progress)

    def cancel(self) -> None:
        self._stop.set()

    def run(self, job: Job) -> Returned:
        node = node_id()
        with scratch_folder(_SCRATCH) as scratch:
            folder = Path(scratch)
            (folder / "in").mkdir()
            audio = folder / "in" / job.audio_name
            text = folder / "in" / job.transcript_name
            audio.write_bytes(job.audio)
            text.write_bytes(job.transcript)
            settings = self.settings
            for name, (filename, data) in job.setting_files.items():
                (folder / name).mkdir()
                (folder / name / filename).write_bytes(data)
                settings = replace(settings, **{name: str(folder / name / filename)})
            shared = self.shared_out is not None
            out_root = Path(self.shared_out) if self.shared_out is not None else folder / "out"
            cache = _RecordingCache(out_root / CACHE_DIR if shared else folder / "cache")
            for stage, key, value in job.cache:
                StageCache(cache.root).put(stage, key, value)

            def progress(stage: str, done: float, total: float) -> None:
                if self._stop.is_set():
                    raise Cancelled
                self._progress[job.stem] = (stage, done, total)

            try:
                outcome, _ = run_episode(
                    Episode(job.stem, audio, text), out_root, settings, self._loaded(), progress, cache
                )
            except SubpipeError as exc:  # the model would not load on this restarted worker
                outcome = Outcome(Status.FAILED, exc.message, exc.exit_code)
            finally:
                self._progress.pop(job.stem, None)
            outcome = outcome.renamed({str(audio): job.inputs[0], str(text): job.inputs[1]})
            if shared:
                return Returned(outcome, node)
            files = {name: (out_root / name).read_bytes() for name in outcome.outputs}
            return Returned(outcome, node, files, tuple(cache.made))

    def _loaded(self) -> asr.Engine:
        with self._load_lock:
            if self._engine is None:
                s = self.settings
                self._engine = asr.load(
                    s.model, s.device, s.compute_type, s.batch_size, s.language, cores=self.cores
                )
            return self._engine
