"""Synthetic Russian episodes whose true line and word timings are known.

Festival's Russian voice (``voice_msu_ru_nsh_clunits``) reads transcript lines;
Festival itself reports when each word starts and ends, so an episode built
from those lines comes with exact truth to score the aligner against.

Usage::

    python -m bench.synth sample SEED OUTDIR    # the committed demo sample
    python -m bench.synth clean|mismatched|long SEED

Each synthesized line is cached under ``.cache/festival/`` so that rebuilding
episodes (and resuming the hour-long one) costs almost nothing.

This module is the command line and re-exports the public names; the work is
done along the data flow in :mod:`bench.seed_text` (the transcript
layout), :mod:`bench.festival` (synthesis, word times, the cache),
:mod:`bench.episode_builder` (plans, episodes, files) and
:mod:`bench.scenarios` (the sample and the benchmark scenarios).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from bench.episode_builder import (
    EpisodeFiles,
    PlanItem,
    Silence,
    SpokenLine,
    Synth,
    Unscripted,
    UnspokenLine,
    build_episode,
    encode_audio,
    write_episode,
)
from bench.festival import (
    CACHE_ROOT,
    CACHE_VERSION,
    CHUNK,
    FESTIVAL_CACHE,
    REPO_ROOT,
    SAMPLE_RATE,
    TRIM_DB,
    TRIM_FRAME,
    VOICE,
    WORKERS,
    FestivalError,
    FestToken,
    LineAudio,
    TimedWord,
    WordTiming,
    festival_available,
    map_words,
    speech_bounds,
    synthesize,
    synthesize_many,
)
from bench.scenarios import (
    ADS,
    BENCH_ROOT,
    make_sample,
    pick_sample_stretch,
    scenario_clean,
    scenario_long,
    scenario_mismatched,
)
from bench.seed_text import (
    SAID_FOR_ENGLISH,
    SAID_FOR_ENGLISH_DEFAULT,
    format_bilingual,
    read_bilingual,
    read_seed,
    reference_words,
    said_for_english,
)

__all__ = [
    "ADS",
    "BENCH_ROOT",
    "CACHE_ROOT",
    "CACHE_VERSION",
    "CHUNK",
    "FESTIVAL_CACHE",
    "REPO_ROOT",
    "SAID_FOR_ENGLISH",
    "SAID_FOR_ENGLISH_DEFAULT",
    "SAMPLE_RATE",
    "TRIM_DB",
    "TRIM_FRAME",
    "VOICE",
    "WORKERS",
    "EpisodeFiles",
    "FestToken",
    "FestivalError",
    "LineAudio",
    "PlanItem",
    "Silence",
    "SpokenLine",
    "Synth",
    "TimedWord",
    "Unscripted",
    "UnspokenLine",
    "WordTiming",
    "build_episode",
    "encode_audio",
    "festival_available",
    "format_bilingual",
    "main",
    "make_sample",
    "map_words",
    "pick_sample_stretch",
    "read_bilingual",
    "read_seed",
    "reference_words",
    "said_for_english",
    "scenario_clean",
    "scenario_long",
    "scenario_mismatched",
    "speech_bounds",
    "synthesize",
    "synthesize_many",
    "write_episode",
]


def _summary(files: EpisodeFiles) -> str:
    truth = json.loads(files.truth.read_text(encoding="utf-8"))
    spoken = sum(1 for ln in truth["lines"] if ln["spoken"])
    size = files.audio.stat().st_size
    return (
        f"{files.audio} ({truth['duration']:.1f} s, {size / 1e6:.2f} MB), {files.transcript}, {files.truth}: "
        f"{len(truth['lines'])} lines, {spoken} spoken, {len(truth['unscripted'])} unscripted"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synth", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sample", help="write OUTDIR/sample.ogg, sample.ru-en.txt, sample.truth.json")
    p.add_argument("seed_transcript", type=Path)
    p.add_argument("outdir", type=Path)
    p.add_argument("--seed", type=int, default=2021)
    for name in ("clean", "mismatched", "long"):
        q = sub.add_parser(name, help=f"write .cache/bench/{name}/")
        q.add_argument("seed_transcript", type=Path)
        q.add_argument("--seed", type=int, default=None)
        if name != "long":
            q.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.command == "sample":
        files = make_sample(args.seed_transcript, args.outdir, args.seed)
    elif args.command == "clean":
        files = scenario_clean(args.seed_transcript, args.minutes, 1 if args.seed is None else args.seed)
    elif args.command == "mismatched":
        files = scenario_mismatched(args.seed_transcript, args.minutes, 2 if args.seed is None else args.seed)
    else:
        files = scenario_long(args.seed_transcript, 3 if args.seed is None else args.seed)
    print(_summary(files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
