"""What a batch keeps between runs: the manifest, input fingerprints and the OUT lock.

The manifest ``OUT/batch.json`` is rewritten atomically after every change, so
a batch killed at any moment leaves a readable manifest that says which
episodes were finished; anything not marked done is simply done again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline import fileio
from pipeline.cache import code_version, file_digest
from pipeline.fileio import atomic_write_text

MANIFEST_NAME = "batch.json"
CACHE_DIR = ".subpipe-cache"
MANIFEST_VERSION = 1
# A file changed again within this long of being hashed can keep its size and
# timestamp (coarse file-system clocks), so its remembered digest is not trusted.
_RACY_NS = 2_000_000_000


# Code that cannot change an episode's outputs: the command line, the batch, benchmarks.


class Status(str, Enum):
    PENDING = "pending"  # found, waiting for its turn
    RUNNING = "running"  # a batch was working on it (if that batch is gone, it was cut short)
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped by Ctrl-C; redone by the next batch
    UNPAIRED = "unpaired"  # audio without transcript or the reverse; nothing to do


@dataclass(frozen=True)
class Fingerprint:
    """A file's content digest, remembered with the size and mtime it was taken at."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    hashed_ns: int


def fingerprint(path: Path, previous: Fingerprint | None = None) -> Fingerprint:
    """Digest of ``path``; reuses ``previous`` when size and mtime show the file untouched since.

    Re-reading a season's audio on every run would cost minutes; a file whose
    size and nanosecond mtime are unchanged (and were not racy) has the same content.
    """
    path = Path(path).resolve()
    stat = path.stat()
    if (
        previous is not None
        and previous.path == str(path)
        and previous.size == stat.st_size
        and previous.mtime_ns == stat.st_mtime_ns
        and stat.st_mtime_ns < previous.hashed_ns - _RACY_NS
    ):
        return previous
    hashed_ns = time.time_ns()
    return Fingerprint(str(path), stat.st_size, stat.st_mtime_ns, file_digest(path), hashed_ns)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the code that makes an episode's outputs, so upgrading subpipe redoes them.

    Any change counts, as nobody bumps a version for a cue-breaking tweak. Stage
    caches keep the ASR and alignment unless their own versions change, so such
    a redo costs decoding and writing, not transcription. Computed once per
    process, so one batch judges all its episodes by the same code.
    """
    return code_version("pipeline.episode")


@dataclass
class EpisodeRecord:
    """One episode's line in the manifest."""

    stem: str
    status: Status
    audio: Fingerprint | None = None
    transcript: Fingerprint | None = None
    identity: str = ""  # model, settings and code the result was made with
    outputs: list[str] = field(default_factory=list)  # relative to OUT
    scores: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int | None = None
    audio_seconds: float | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: list[str] = field(default_factory=list)
    run: str | None = None  # id of the batch run that set this status
    finished: str | None = None  # ISO time
    node: str | None = None  # the Ray node that ran it (a batch with --ray)
    attempts: int = 0  # workers that began it in this run (a batch with --ray; 2 after a lost worker)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeRecord:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["status"] = Status(values["status"])
        for key in ("audio", "transcript"):
            if values.get(key):
                values[key] = Fingerprint(**values[key])
        return cls(**values)


class Manifest:
    """The records of one OUT folder; every change is written through at once."""

    def __init__(self, out_root: Path, records: dict[str, EpisodeRecord], meta: dict[str, Any]) -> None:
        self.path = Path(out_root) / MANIFEST_NAME
        self.records = records
        self.meta = meta
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def load(cls, out_root: Path) -> Manifest:
        """The manifest in ``out_root``; an unreadable one starts afresh (its episodes are redone)."""
        try:
            data = json.loads((Path(out_root) / MANIFEST_NAME).read_text(encoding="utf-8"))
            records = {e["stem"]: EpisodeRecord.from_dict(e) for e in data["episodes"]}
            meta = {k: v for k, v in data.items() if k != "episodes"}
        except (OSError, ValueError, KeyError, TypeError):
            return cls(out_root, {}, {})
        if meta.get("version") != MANIFEST_VERSION:
            return cls(out_root, {}, {})
        return cls(out_root, records, meta)

    def replace(self, records: Iterable[EpisodeRecord], **meta: Any) -> None:
        """Start a run: the episodes found now replace the old list (stems gone from IN drop out)."""
        with self._lock:
            self.records = {r.stem: r for r in records}
            self.meta = {"version": MANIFEST_VERSION, **meta}
            self._save()

    def update(self, record: EpisodeRecord) -> None:
        with self._lock:
            if self._closed:
                return
            self.records[record.stem] = record
            self._save()

    def close(self, running_become: Status) -> None:
        """Mark episodes still running and accept no more updates (threads left behind by Ctrl-C)."""
        with self._lock:
            for stem, record in self.records.items():
                if record.status is Status.RUNNING:
                    self.records[stem] = replace(record, status=running_become)
            self._closed = True
            self._save()

    def set_meta(self, **meta: Any) -> None:
        with self._lock:
            self.meta.update(meta)
            self._save()

    def _save(self) -> None:
        episodes = [self.records[stem].to_dict() for stem in sorted(self.records)]
        text = json.dumps({**self.meta, "episodes": episodes}, ensure_ascii=False, indent=2)
        atomic_write_text(self.path, text + "\n")


def sweep_temp_files(out_root: Path, stems: Iterable[str]) -> list[Path]:
    """Delete temp files a killed batch left in OUT, its episode folders and its cache."""
    out_root = Path(out_root)
    cache = out_root / CACHE_DIR
    folders = [out_root, *(out_root / stem for stem in stems), cache]
    if cache.is_dir():
        folders += [p for p in cache.iterdir() if p.is_dir()]
    return fileio.sweep_temp_files(folders)
