"""What a batch shows while it runs: tqdm bars on stderr, one result line per episode.

One bar counts episodes; below it one bar per episode in progress (one per
worker thread) counts seconds of audio transcribed. Bars switch themselves
off when stderr is not a terminal, so logs get only the result lines.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from pipeline.batch.state import EpisodeRecord, Status
from pipeline.errors import SubpipeError

_EPISODE_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}]"


class View(Protocol):
    """What a batch tells its caller as it goes (the CLI draws progress bars from it).

    ``node`` names the Ray node running an episode (None in a local batch).
    """

    def planned(self, records: Sequence[EpisodeRecord], todo: int) -> None: ...
    def started(self, stem: str, node: str | None = None) -> None: ...
    def progress(self, stem: str, stage: str, done: float, total: float) -> None: ...
    def requeued(self, stem: str, why: str) -> None: ...
    def finished(self, record: EpisodeRecord, error: BaseException | None) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


class QuietView:
    def planned(self, records: Sequence[EpisodeRecord], todo: int) -> None: ...
    def started(self, stem: str, node: str | None = None) -> None: ...
    def progress(self, stem: str, stage: str, done: float, total: float) -> None: ...
    def requeued(self, stem: str, why: str) -> None: ...
    def finished(self, record: EpisodeRecord, error: BaseException | None) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


class BarsView:
    def __init__(self, bars: bool = True, verbose: bool = False, out: TextIO | None = None) -> None:
        self._bars_enabled, self._verbose = bars, verbose
        self._out = out or sys.stdout
        self._lock = threading.RLock()
        self._batch: Any = None  # tqdm
        self._episodes: dict[str, Any] = {}
        self._positions: dict[str, int] = {}
        self._labels: dict[str, str] = {}  # "ep01 on 10.0.0.5/1a2b3c4d" on a cluster

    def planned(self, records: Sequence[EpisodeRecord], todo: int) -> None:
        from tqdm import tqdm

        for record in records:
            if record.status is Status.UNPAIRED:
                self._say(f"{record.stem}: not an episode: {record.error}", sys.stderr)
            elif record.status is Status.FAILED:
                self._say(f"{record.stem}: failed: {record.error}", sys.stderr)
        self._batch = tqdm(
            total=todo,
            desc="batch",
            unit="ep",
            position=0,
            file=sys.stderr,
            disable=None if self._bars_enabled else True,
            dynamic_ncols=True,
        )

    def started(self, stem: str, node: str | None = None) -> None:
        from tqdm import tqdm

        with self._lock:
            taken = set(self._positions.values())
            position = next(p for p in range(1, len(taken) + 2) if p not in taken)
            self._positions[stem] = position
            self._labels[stem] = f"{stem} on {node}" if node else stem
            self._episodes[stem] = tqdm(
                total=None,
                desc=f"{self._labels[stem]} decode",
                position=position,
                leave=False,
                file=sys.stderr,
                disable=None if self._bars_enabled else True,
                bar_format="{desc} [{elapsed}]",
            )

    def progress(self, stem: str, stage: str, done: float, total: float) -> None:
        with self._lock:
            bar = self._episodes.get(stem)
            if bar is None:
                return
            if bar.total is None:
                bar.total = round(total, 1)
                bar.bar_format = _EPISODE_FORMAT
                bar.set_description_str(f"{self._labels.get(stem, stem)} {stage}", refresh=False)
            bar.update(round(done, 1) - bar.n)

    def requeued(self, stem: str, why: str) -> None:
        with self._lock:
            self._drop(stem)
            self._say(f"{stem}: {why}", sys.stderr)

    def note(self, text: str) -> None:
        self._say(text, sys.stderr)

    def _drop(self, stem: str) -> None:
        bar = self._episodes.pop(stem, None)
        self._positions.pop(stem, None)
        self._labels.pop(stem, None)
        if bar is not None:
            bar.close()

    def finished(self, record: EpisodeRecord, error: BaseException | None) -> None:
        with self._lock:
            self._drop(record.stem)
            if self._batch is not None and record.status is not Status.INTERRUPTED:
                self._batch.update(1)
            if record.status is Status.DONE:
                cached = f" (cached: {', '.join(record.cache_hits)})" if record.cache_hits else ""
                took = sum(record.stage_seconds.values())
                audio = record.audio_seconds or 0.0
                where = f" on {record.node}" if record.node else ""
                self._say(f"{record.stem}: done{where}, {audio:.0f} s of audio in {took:.1f} s{cached}")
            elif record.status is Status.FAILED:
                where = f" on {record.node}" if record.node else ""
                self._say(f"{record.stem}: failed{where}: {record.error}", sys.stderr)
                if self._verbose and error is not None and not isinstance(error, SubpipeError):
                    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
            else:
                self._say(f"{record.stem}: interrupted; the next batch redoes it", sys.stderr)

    def close(self) -> None:
        with self._lock:
            for bar in self._episodes.values():
                bar.close()
            self._episodes.clear()
            if self._batch is not None:
                self._batch.close()
                self._batch = None

    def _say(self, text: str, stream: TextIO | None = None) -> None:
        from tqdm import tqdm

        with self._lock:
            tqdm.write(text, file=stream or self._out)
