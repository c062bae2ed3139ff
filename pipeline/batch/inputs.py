"""Which episodes an input folder holds: audio and transcript files paired by stem."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputNotFound

# Containers ffmpeg (PyAV) decodes; video files contribute their first audio track.
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".m4a", ".m4b", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".aif", ".aiff", ".wma"}
    | {".amr", ".ac3", ".mka", ".spx", ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi"}
)
TRANSCRIPT_EXTENSIONS = frozenset({".txt", ".tsv"})
# The repository's own transcripts are named ``<stem>.ru-en.txt``.
_LANGUAGE_TAG = ".ru-en"


@dataclass(frozen=True)
class Episode:
    """One stem of the input folder; ``problem`` says why it cannot run, if it cannot."""

    stem: str
    audio: Path | None
    transcript: Path | None
    problem: str | None = None


def transcript_stem(path: Path) -> str:
    stem = path.stem
    return stem[: -len(_LANGUAGE_TAG)] if stem.lower().endswith(_LANGUAGE_TAG) else stem


def find_episodes(folder: Path) -> list[Episode]:
    """Every stem in ``folder`` (not its subfolders) with audio, a transcript or both, by stem."""
    folder = Path(folder)
    if not folder.is_dir():
        problem = "is not a folder of episodes" if folder.exists() else "episode folder not found"
        raise InputNotFound(folder, problem)
    audio: dict[str, list[Path]] = defaultdict(list)
    texts: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix in AUDIO_EXTENSIONS:
            audio[path.stem].append(path)
        elif suffix in TRANSCRIPT_EXTENSIONS:
            texts[transcript_stem(path)].append(path)
    if not audio and not texts:
        raise InputNotFound(folder, "holds no audio or transcript files (e.g. ep01.mp3 + ep01.txt)")
    return [_episode(stem, audio.get(stem, []), texts.get(stem, [])) for stem in sorted(audio.keys() | texts)]


def _episode(stem: str, audio: list[Path], texts: list[Path]) -> Episode:
    first_audio = audio[0] if audio else None
    first_text = texts[0] if texts else None
    if not texts:
        problem = f"no transcript ({stem}.txt or {stem}.tsv) for {audio[0].name}"
        return Episode(stem, first_audio, None, problem)
    if not audio:
        return Episode(stem, None, first_text, f"no audio file named {stem}.* for {texts[0].name}")
    if len(audio) > 1 or len(texts) > 1:
        names = ", ".join(p.name for p in (audio if len(audio) > 1 else texts))
        return Episode(stem, first_audio, first_text, f"ambiguous: {names}; keep one")
    return Episode(stem, first_audio, first_text)
