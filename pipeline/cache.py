"""Stage results cached by content, so re-runs skip work already done.

A key is a digest of everything a stage's result depends on: input file
contents (not timestamps), the model, the settings and the stage's version.
Entries are JSON written atomically; a damaged entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.fileio import atomic_write_text

_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def source_digest(*modules: str) -> str:
    """Digest of the named ``pipeline`` modules' source, so a code change invalidates their results."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in modules:
        digest.update((root / f"{name.replace('.', '/')}.py").read_bytes())
    return digest.hexdigest()[:16]


def make_key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:32]


class StageCache:
    """JSON results per (stage, key) under ``root``; ``root=None`` caches nothing."""

    def __init__(self, root: Path | None) -> None:
        self.root = Path(root) if root is not None else None
        self.hits: list[str] = []
        self.misses: list[str] = []

    def _path(self, stage: str, key: str) -> Path:
        assert self.root is not None
        return self.root / stage / f"{key}.json"

    def get(self, stage: str, key: str) -> Any | None:
        if self.root is None:
            return None
        try:
            value = json.loads(self._path(stage, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.misses.append(stage)
            return None
        self.hits.append(stage)
        return value

    def put(self, stage: str, key: str, value: Any) -> None:
        if self.root is not None:
            atomic_write_text(self._path(stage, key), json.dumps(value, ensure_ascii=False))
