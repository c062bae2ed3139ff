"""Stage results cached by content, so re-runs skip work already done.

A key is a digest of everything a stage's result depends on: input file
contents (not timestamps), the model, the settings and the stage's version.
Entries are JSON written atomically; a damaged entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pipeline.fileio import atomic_write_text

_CHUNK = 1 << 20
T = TypeVar("T")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def code_version(*modules: str) -> str:
    """Digest of the source of ``modules`` and of every ``pipeline`` module they import, transitively.

    A stage's cached results are valid for the code that made them; following
    the imports means no module a stage depends on can be left out of its key.
    """
    digest = hashlib.sha256()
    for path in sorted(_closure(modules)):
        digest.update(str(path.relative_to(_ROOT.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


_ROOT = Path(__file__).resolve().parent


def _source(module: str) -> Path | None:
    base = _ROOT.parent / module.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _closure(modules: tuple[str, ...]) -> set[Path]:
    import ast

    seen: set[Path] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        # a module's parent packages run first (their __init__ is part of its code)
        for k in range(2, len(parts)):
            todo.append(".".join(parts[:k]))
        path = _source(name)
        if path is None or path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
                todo.append(node.module)
                todo.extend(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                todo.extend(alias.name for alias in node.names if alias.name.startswith("pipeline"))
    return seen


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

    def get(self, stage: str, key: str, load: Callable[[Any], T]) -> T | None:
        """The entry for ``key``, turned into its value by ``load``; ``None`` on a miss.

        An entry that cannot be read, is not JSON, or that ``load`` cannot make
        sense of (valid JSON of the wrong shape: a damaged or foreign file)
        counts as a miss, and the stage is simply run again.
        """
        if self.root is None:
            return None
        try:
            value = load(json.loads(self._path(stage, key).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
            self.misses.append(stage)
            return None
        self.hits.append(stage)
        return value

    def put(self, stage: str, key: str, value: Any) -> None:
        if self.root is not None:
            atomic_write_text(self._path(stage, key), json.dumps(value, ensure_ascii=False))
