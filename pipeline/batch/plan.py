"""Which episodes of a batch need work: input fingerprints and settings against the manifest.

An episode is up to date when the manifest says it was done from the same
audio and transcript content, with the same model, settings and code, and its
outputs are still there; that decision needs no decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from pipeline.batch.inputs import Episode
from pipeline.batch.state import EpisodeRecord, Manifest, Status, code_digest, fingerprint
from pipeline.cache import file_digest, make_key
from pipeline.episode import ALIGN_VERSION, ASR_VERSION, Settings
from pipeline.errors import AlignmentError, AudioError, InputNotFound, TranscriptError

_ASR_FIELDS = frozenset({"model", "device", "compute_type", "batch_size", "language"})
# Failures the same inputs would only repeat; any other failure (disk full, a
# bug since fixed) is retried by the next batch.
_INPUT_ERRORS = frozenset(e.exit_code for e in (InputNotFound, TranscriptError, AudioError, AlignmentError))


def plan(
    episodes: Sequence[Episode],
    manifest: Manifest,
    identity: str,
    run_id: str,
    out_root: Path,
    force: bool,
) -> tuple[list[EpisodeRecord], list[Episode]]:
    """A record for every episode found, and the episodes that need work."""
    records, todo = [], []
    for item in episodes:
        old = manifest.records.get(item.stem)
        if item.audio is None or item.transcript is None or item.problem:
            status = Status.FAILED if item.audio and item.transcript else Status.UNPAIRED
            records.append(EpisodeRecord(item.stem, status, error=item.problem, run=run_id))
            continue
        try:
            audio = fingerprint(item.audio, old.audio if old else None)
            text = fingerprint(item.transcript, old.transcript if old else None)
        except OSError as exc:
            message = f"{exc.filename}: cannot read ({exc.strerror or exc})"
            code = InputNotFound.exit_code
            records.append(EpisodeRecord(item.stem, Status.FAILED, error=message, exit_code=code, run=run_id))
            continue
        same = (
            not force
            and old is not None
            and old.identity == identity
            and old.audio is not None
            and old.audio.sha256 == audio.sha256
            and old.transcript is not None
            and old.transcript.sha256 == text.sha256
        )
        outputs_kept = old is not None and all((out_root / name).is_file() for name in old.outputs)
        if same and old is not None and old.status is Status.DONE and outputs_kept:
            records.append(replace(old, audio=audio, transcript=text))
            continue
        if same and old is not None and old.status is Status.FAILED and old.exit_code in _INPUT_ERRORS:
            records.append(replace(old, audio=audio, transcript=text))
            continue
        records.append(EpisodeRecord(item.stem, Status.PENDING, audio, text, identity, run=run_id))
        todo.append(item)
    return records, todo


def identity(settings: Settings) -> str:
    """Key of everything besides the inputs that an episode's outputs depend on."""
    return make_key(*_settings_identity(settings), ASR_VERSION, ALIGN_VERSION, code_digest())


def _settings_identity(settings: Settings) -> tuple[object, ...]:
    """What of the settings shapes the outputs: the ASR's identity and every output option.

    Device, compute type and batch size enter only through the ASR identity, as
    in the stage cache; a setting naming a file (a profile .toml) counts by content.
    """
    extras = []
    for key, value in sorted(asdict(settings).items()):
        if key in _ASR_FIELDS:
            continue
        if isinstance(value, str) and Path(value).is_file():
            value = f"{value}@{file_digest(Path(value))}"
        extras.append(f"{key}={value}")
    return (*settings.asr_identity(), *extras)


def settings_dict(settings: Settings) -> dict[str, Any]:
    model, language, compute = settings.asr_identity()
    fields = {k: v for k, v in asdict(settings).items() if k not in _ASR_FIELDS}
    return {
        "model": model,
        "language": language,
        "compute_type": compute,
        "device": settings.device,
        **fields,
    }
