"""Real-speech benchmark episodes built from Debian's festvox-ru recordings.

Every episode is one reader's real recordings (ru_0101-ru_0620 only; see
:mod:`bench.festvox_ru`) laid out with natural pauses (:mod:`bench.real_layout`),
one transcript line per recording, written as a plain transcript, with truth
from the phone labels. Each is deterministic from its seed and cached under
``.cache/bench/<name>/`` (rebuilt when its recipe changes):

* ``real-clean``: 5 min, exact transcript;
* ``real-phone``: another 5 min through a telephone line (300-3400 Hz, 8 kHz,
  AMR-NB 12.2 kbit/s there and back; :func:`bench.channel.telephone`);
* ``real-noise``: another 5 min over a synthesized music bed at 12 dB SNR;
* ``real-edits``, ``real-edits-2``: 8 min each; a tenth of the lines never
  said (unspoken), three recordings from elsewhere said but not written
  (unscripted), and half the spoken lines changed (:mod:`bench.real_edits`);
* ``real-repeats``: 5 min where sentences are said two or three times in a
  row (the same recording again: the corpus has one take of each text), each
  repetition its own transcript line;
* ``real-long``: all 386 recordings in order, about 65 minutes.

Usage: ``python -m bench.realspeech [NAME ...]`` builds and summarises them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import channel, real_edits
from bench.episode_builder import EpisodeFiles
from bench.festival import SAMPLE_RATE
from bench.festvox_ru import seconds, speech_span, text_of, utterance_ids
from bench.real_layout import Heard, Plan, ScriptLine, lay_out, speech_spans, truth, write
from bench.scenarios import BENCH_ROOT

RECIPE_VERSION = 2
NOISE_SNR_DB = 12.0
EDIT_UNSPOKEN_SHARE = 0.1
EDIT_UNSCRIPTED = 3
EDIT_CHANGED_SHARE = 0.5
REPEATABLE_SPEECH = 8.0  # seconds: longer sentences are not the kind people repeat


@dataclass(frozen=True, slots=True)
class Recipe:
    """How an episode is made: a plan from a seed, and what the channel does to it."""

    seed: int
    plan: Callable[[np.random.Generator], Plan]
    channel: str = "clean"  # "clean", "telephone" or "music"


def _length(utt_id: str) -> float:
    return seconds(utt_id)


def stretch(rng: np.random.Generator, seconds: float, ids: Sequence[str] | None = None) -> list[str]:
    """Consecutive recordings from a random start whose lengths fill ``seconds``."""
    ids = list(ids or utterance_ids())
    total, picked = 0.0, []
    first = int(rng.integers(0, len(ids)))
    for k in range(len(ids)):
        if total >= seconds:
            break
        utt_id = ids[(first + k) % len(ids)]
        picked.append(utt_id)
        total += _length(utt_id)
    return picked


def exact_plan(ids: Sequence[str]) -> Plan:
    lines = tuple(ScriptLine(k, u) for k, u in enumerate(ids))
    return Plan(lines, tuple(Heard(u, k) for k, u in enumerate(ids)))


def _plan_stretch(seconds: float) -> Callable[[np.random.Generator], Plan]:
    return lambda rng: exact_plan(stretch(rng, seconds))


def edits_plan(rng: np.random.Generator, seconds: float = 480.0) -> Plan:
    """A stretch whose transcript disagrees with the audio (see the module docstring)."""
    ids = stretch(rng, seconds)
    n = len(ids)
    unspoken = {int(i) for i in rng.choice(n, size=max(1, round(EDIT_UNSPOKEN_SHARE * n)), replace=False)}
    spoken = [k for k in range(n) if k not in unspoken]
    texts = [text_of(ids[k]) for k in spoken]
    vocab = real_edits.vocabulary([text_of(u) for u in utterance_ids()])
    changes = real_edits.plan_changes(texts, EDIT_CHANGED_SHARE, vocab, rng)
    lines: list[ScriptLine] = []
    for k, utt_id in enumerate(ids):
        if k in spoken and (change := changes.get(spoken.index(k))) is not None:
            lines.append(ScriptLine(k, utt_id, change[0], change[1]))
        else:
            lines.append(ScriptLine(k, utt_id))
    # Unscripted speech: recordings far from the stretch, between lines (never two together).
    outside = [u for u in utterance_ids() if u not in ids]
    extras = [str(u) for u in rng.choice(outside, size=EDIT_UNSCRIPTED, replace=False)]
    gaps = sorted(int(g) for g in rng.choice(np.arange(1, n), size=EDIT_UNSCRIPTED, replace=False))
    heard: list[Heard] = []
    for k, utt_id in enumerate(ids):
        if k in gaps:
            heard.append(Heard(extras[gaps.index(k)], None))
        if k not in unspoken:
            heard.append(Heard(utt_id, k))
    return Plan(tuple(lines), tuple(heard))


def repeats_plan(rng: np.random.Generator, seconds: float = 300.0) -> Plan:
    """Short sentences said one to three times in a row; each saying is a transcript line."""
    ids = [u for u in utterance_ids() if speech_span(u)[1] - speech_span(u)[0] <= REPEATABLE_SPEECH]
    lines: list[ScriptLine] = []
    heard: list[Heard] = []
    total = 0.0
    for utt_id in stretch(rng, seconds, ids):
        if total >= seconds:
            break
        for _ in range(int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))):
            heard.append(Heard(utt_id, len(lines)))
            lines.append(ScriptLine(len(lines), utt_id))
            total += _length(utt_id)
    return Plan(tuple(lines), tuple(heard))


EPISODES: dict[str, Recipe] = {
    "real-clean": Recipe(101, _plan_stretch(300.0)),
    "real-phone": Recipe(102, _plan_stretch(300.0), "telephone"),
    "real-noise": Recipe(103, _plan_stretch(300.0), "music"),
    "real-edits": Recipe(104, edits_plan),
    "real-edits-2": Recipe(105, edits_plan),
    "real-repeats": Recipe(106, repeats_plan),
    "real-long": Recipe(107, lambda _rng: exact_plan(utterance_ids())),
}


def _recipe_key(name: str, recipe: Recipe) -> dict[str, Any]:
    return {"version": RECIPE_VERSION, "episode": name, "seed": recipe.seed, "channel": recipe.channel}


def render(plan: Plan, seed: int, how: str = "clean") -> tuple[np.ndarray, dict[str, Any]]:
    """The episode's samples and truth for a plan, through channel ``how``."""
    samples, placed = lay_out(plan, seed)
    content = truth(plan, placed, len(samples) / SAMPLE_RATE, seed)
    if how == "telephone":
        samples, line = channel.telephone(samples)
        content["channel"] = {
            "kind": "telephone",
            "codec": line.codec,
            "bitrate": line.bitrate,
            "band_hz": list(line.band_hz),
            "codec_delay_s": line.delay_s,
        }
    elif how == "music":
        samples = channel.mix_bed(samples, speech_spans(placed), NOISE_SNR_DB, seed)
        content["noise_snr_db"] = NOISE_SNR_DB
        content["channel"] = {
            "kind": "music bed",
            "snr_db": NOISE_SNR_DB,
            "bed": "synthesized (bench.channel)",
        }
    elif how != "clean":
        raise ValueError(f"unknown channel {how!r}")
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak > 0.98:
        samples = (samples * (0.98 / peak)).astype(np.float32)
    return samples, content


def build(name: str, root: Path = BENCH_ROOT, force: bool = False) -> EpisodeFiles:
    """The episode's files, built unless the cached ones were made by the same recipe."""
    recipe = EPISODES[name]
    folder = root / name
    files = EpisodeFiles(folder / "episode.flac", folder / "episode.txt", folder / "episode.truth.json")
    key = _recipe_key(name, recipe)
    current = not force and all(p.exists() for p in files)
    if current and json.loads(files.truth.read_text(encoding="utf-8")).get("recipe") == key:
        return files
    rng = np.random.default_rng(recipe.seed)
    plan = recipe.plan(rng)
    samples, content = render(plan, recipe.seed, recipe.channel)
    return write(folder, samples, plan, {**content, "recipe": key})


def clip(folder: Path, ids: Sequence[str], seed: int = 0, how: str = "clean") -> tuple[EpisodeFiles, dict]:
    """A short real clip for tests: the recordings ``ids`` in a row, exact transcript.

    Built from the Debian package at test time; returns the files and the truth.
    """
    samples, content = render(exact_plan(ids), seed, how)
    files = write(Path(folder), samples, exact_plan(ids), content)
    return files, json.loads(files.truth.read_text(encoding="utf-8"))


def summary(files: EpisodeFiles) -> str:
    t = json.loads(files.truth.read_text(encoding="utf-8"))
    spoken = sum(1 for ln in t["lines"] if ln["spoken"])
    return (
        f"{files.audio.parent.name}: {t['duration'] / 60:.1f} min, {len(t['lines'])} lines "
        f"({spoken} spoken, {len(t['lines']) - spoken} unspoken), {len(t['unscripted'])} unscripted, "
        f"{len(t.get('changed_lines', []))} changed lines"
    )


def main(argv: Sequence[str] | None = None) -> int:
    import time

    parser = argparse.ArgumentParser(prog="python -m bench.realspeech", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(EPISODES)} (all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is current")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(EPISODES)
    if unknown:
        parser.error(f"unknown episode {', '.join(sorted(unknown))}")
    for name in args.names or list(EPISODES):
        started = time.perf_counter()
        files = build(name, force=args.force)
        print(f"{summary(files)} ({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
