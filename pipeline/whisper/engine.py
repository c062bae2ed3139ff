"""The loaded Whisper model and the settings it runs with; loaded once per process."""

from __future__ import annotations

import math
import os
import subprocess
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.errors import ModelError
from pipeline.whisper import model as model_files
from pipeline.whisper.features import LogMel
from pipeline.whisper.options import device_problem

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
R = TypeVar("R")


# CPU, measured on 2 cores with the base model: two workers of one thread each,
# each decoding batches of 3 chunks, transcribed 6 chunks in 5.8 s against
# 8.3 s for one two-threaded worker with batches of 2. Greedy decoding runs
# more tokens per second in larger batches: 28 minutes of real speech took
# 121 s in batches of 6 against 132 s in batches of 3 (8 and 12: 129 s and
# 124 s), the words the same. Each chunk in a batch holds ~37 MB of
# cross-attention keys and values, so batches stop at 6 (444 MB for both workers).
CPU_WORKERS = 2
CPU_BATCH = 6
# Alignment windows that are not padded to 30 s are padded to the longest of
# their batch (see encoder.encode_audio), which changes how they encode; on the
# CPU they go three to a batch, the size the read-along's figures were measured with.
CPU_WINDOW_BATCH = 3

# One tokenizer per loaded model and language, kept only while the model is.
_TOKENIZERS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_TOKENIZERS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Engine:
    """A loaded Whisper model and the settings it runs with."""

    whisper: Any  # faster_whisper.WhisperModel
    name: str
    device: str
    compute_type: str
    batch_size: int
    language: str
    workers: int = 1  # batches the model runs at once, each on its own threads
    mel: LogMel | None = None  # the model's feature extractor (its own mel count)
    multilingual: bool = True  # False for an English-only (.en) model

    @property
    def window_batch(self) -> int:
        """Alignment windows per batch: at most ``CPU_WINDOW_BATCH`` on the CPU, else ``batch_size``."""
        return max(1, min(self.batch_size, CPU_WINDOW_BATCH) if self.device == "cpu" else self.batch_size)

    def describe(self) -> str:
        streams = f", {self.workers} workers" if self.workers > 1 else ""
        return f"{self.name} on {self.device}, {self.compute_type}, batch {self.batch_size}{streams}"

    def features(self, samples: np.ndarray) -> np.ndarray:
        """Log-mel features of ``samples`` with as many mel bins as the model takes."""
        if self.mel is None:
            raise ValueError("this engine has no model loaded")
        return self.mel(samples)

    def tokenizer(self) -> Any:
        """faster-whisper's tokenizer for this model: transcribing ``language``, special tokens by name.

        Built once per loaded model and language and shared by every stage
        (building one reads the model's vocabulary: ~0.3 s).
        """
        from faster_whisper.tokenizer import Tokenizer

        with _TOKENIZERS_LOCK:
            built = _TOKENIZERS.setdefault(self.whisper, {})
            if self.language not in built:
                built[self.language] = Tokenizer(
                    self.whisper.hf_tokenizer, self.multilingual, task="transcribe", language=self.language
                )
            return built[self.language]

    def groups(self, count: int) -> list[list[int]]:
        """``range(count)`` cut into batches of at most ``batch_size``, as even as the workers need.

        The number of batches is rounded up to a multiple of the workers, so no
        worker waits while another decodes: six chunks in batches of up to 6 go
        three to each of two workers (as one batch, the sample's 170 s
        transcribed in 23.1 s on one core against 12.5 s on two).
        """
        size = max(1, self.batch_size)
        batches = min(count, math.ceil(math.ceil(count / size) / self.workers) * self.workers)
        bounds = [round(k * count / batches) for k in range(batches + 1)] if batches else [0]
        return [list(range(lo, hi)) for lo, hi in pairwise(bounds)]

    def map(self, work: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``work`` over ``items`` on the model's workers; results in order, few in flight.

        CTranslate2 releases the GIL, so threads run batches truly in parallel:
        on 2 cores two single-threaded workers encoded 1.23x faster than one
        worker with two threads (less time lost to synchronising small GEMMs).
        """
        if self.workers <= 1:
            yield from map(work, items)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="subpipe-model") as pool:
            pending: deque[Future[R]] = deque()
            try:
                for item in items:
                    pending.append(pool.submit(work, item))
                    if len(pending) > self.workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                # Stopped early (an error, Ctrl-C, a reader that has enough): work not
                # yet begun is dropped, so leaving waits only for the batches running.
                for future in pending:
                    future.cancel()


def _gpu_batch(per_chunk_mib: int = 400, fallback: int = 16) -> int:
    """Chunks per batch from the GPU's free memory (each 30 s chunk needs a few hundred MiB)."""
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        free = int(done.stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return fallback
    return max(8, min(64, free // per_chunk_mib))


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def load(
    name_or_path: str | None = None,
    device: str = "auto",
    compute_type: str | None = None,
    batch_size: int | None = None,
    language: str = "ru",
    cores: int | None = None,
) -> Engine:
    """Load the model: int8 on CPU (workers sharing the cores), float16 on GPU.

    ``cores``: the CPU cores this model may use (default: all of the machine's);
    a Ray worker gets its share of a node.
    """
    from faster_whisper import WhisperModel

    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be 1 or more, got {batch_size}")
    problem = device_problem(device, compute_type)  # before the model, whose errors do not say this
    if problem:
        raise ModelError(None, problem)
    resolved = model_files.resolve(name_or_path)
    english_only = model_files.english_only(resolved)
    if english_only and language != "en":
        raise ModelError(resolved, model_files.english_only_problem(language))
    chosen = pick_device(device)
    compute = compute_type or ("float16" if chosen == "cuda" else "int8")
    cores = max(1, cores or os.cpu_count() or 1)
    workers = min(CPU_WORKERS, cores) if chosen == "cpu" else 1
    try:
        whisper = WhisperModel(
            resolved,
            device=chosen,
            compute_type=compute,
            cpu_threads=max(1, cores // workers),
            num_workers=workers,
        )
    except Exception as exc:  # CTranslate2 and huggingface_hub raise many kinds
        if name_or_path is not None and not os.path.isdir(resolved):  # a name, to be downloaded
            raise ModelError(None, _download_problem(name_or_path, exc)) from exc
        hint = model_files.REBUILD_HINT if name_or_path is None else "check --model"
        raise ModelError(resolved, f"cannot load the Whisper model ({_gist(exc)}); {hint}") from exc
    batch = batch_size or (_gpu_batch() if chosen == "cuda" else CPU_BATCH)
    return Engine(
        whisper,
        name=name_or_path or "whisper-base",
        device=chosen,
        compute_type=compute,
        batch_size=batch,
        language=language,
        workers=workers,
        # The model's own mel count, whatever preprocessor_config.json says (or lacks).
        mel=LogMel(whisper.model.n_mels),
        # Not CTranslate2's is_multilingual: 4.8.5 reports a 51,864-token .en vocabulary as multilingual.
        multilingual=not english_only,
    )


def _download_problem(name: str, exc: Exception) -> str:
    """What went wrong fetching the model ``name`` from the Hugging Face Hub, in one line."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if kinds & {"LocalEntryNotFoundError", "OfflineModeIsEnabled", "ConnectError", "ConnectionError"}:
        return (
            f"model '{name}' is not on this machine and there is no network; "
            "give a local folder or run `make model`"
        )
    if isinstance(exc, ValueError) and "model size" in str(exc):
        return (
            f"model '{name}' is neither a folder nor a model faster-whisper knows; "
            "give a local CTranslate2 folder, or a name such as base, small or large-v3"
        )
    return f"cannot load the Whisper model '{name}' ({_gist(exc)}); check --model"


def _gist(exc: Exception, limit: int = 120) -> str:
    """The first line of ``exc``'s message, cut at a word (huggingface_hub's run over several lines)."""
    text = " ".join(str(exc).split("\n", 1)[0].split()) or type(exc).__name__
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "..."
