"""``make bench``'s scaling row: one season through the local batch and through Ray, on this machine.

The season is the demo sample cut at pauses into ``--parts`` episodes, read
twice (the second reading at a lower gain, so no episode's stage-cache entry
serves another). Each batch runs in its own process, one after another, into
a fresh OUT: the local batch (one process, one model: today's ``subpipe
batch``), ``--ray local`` with one model worker holding every core, and with
two workers of half the cores each (``--ray-cpus``). Episodes per minute
count the whole command, Ray's start included.

Ray's fixed cost and its overhead per episode come from the same batches run
on the first episode alone: with ``A``/``B`` the local/Ray (one worker) walls
for the season of ``n`` episodes and ``a``/``b`` for the single episode, the
overhead per episode is ``((B - A) - (b - a)) / (n - 1)`` (sending an
episode's bytes to a worker and its files back) and the fixed cost
``(b - a)`` less one such overhead (starting Ray and its worker).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from itertools import pairwise
from pathlib import Path

import numpy as np

from bench.episode_builder import encode_audio
from bench.measure import Measured, measure
from pipeline import audio, transcript
from pipeline.types import Line

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "audio_samples" / "sample.ogg"
TRUTH = ROOT / "audio_samples" / "sample.truth.json"
GAINS = (1.0, 0.7)  # each part read twice; the second quieter, so its content (and cache key) differ


def make_season(folder: Path, parts: int) -> float:
    """Write the season's episodes into ``folder``; return its seconds of audio."""
    samples = audio.decode(SAMPLE)
    spoken = [t for t in json.loads(TRUTH.read_text(encoding="utf-8"))["lines"] if t["spoken"] and t["ru"]]
    bounds = np.linspace(0, len(spoken), parts + 1).round().astype(int)
    total = 0.0
    for reading, gain in enumerate(GAINS):
        for part, (lo, hi) in enumerate(pairwise(bounds)):
            lines = spoken[lo:hi]
            begin, end = max(0.0, lines[0]["start"] - 0.4), lines[-1]["end"] + 0.4
            piece = samples[int(begin * audio.SAMPLE_RATE) : int(end * audio.SAMPLE_RATE)] * gain
            stem = f"ep{reading * parts + part + 1:02d}"
            encode_audio(piece, folder / f"{stem}.wav")
            text = [Line(k, t["ru"], t["en"]) for k, t in enumerate(lines)]
            (folder / f"{stem}.txt").write_text(transcript.compose(text), encoding="utf-8")
            total += end - begin
    return total


def run_batch(season: Path, out: Path, extra: list[str]) -> Measured:
    return measure("pipeline.cli", ["batch", str(season), str(out), "--no-progress", *extra])


def row(name: str, run: Measured, count: int, seconds: float) -> str:
    failed = "" if run.returncode == 0 else f"  (exit {run.returncode}: {run.output.strip()[-300:]})"
    wall = run.wall_s
    return f"  {name:34} {wall:8.1f} {count / wall * 60:8.1f} {seconds / wall:7.1f}x{failed}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.split("\n")[0])
    parser.add_argument("--parts", type=int, default=4, help="episodes per reading of the sample")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    half = max(1, cores // 2)
    one_worker = ["--ray", "local", "--ray-cpus", str(cores)]
    with tempfile.TemporaryDirectory() as tmp:
        season, single = Path(tmp) / "season", Path(tmp) / "single"
        season.mkdir()
        single.mkdir()
        seconds = make_season(season, args.parts)
        count = args.parts * len(GAINS)
        for path in season.glob("ep01.*"):
            shutil.copy(path, single / path.name)
        print(f"\n## scaling: {count} episodes, {seconds / 60:.1f} min of audio, {cores} cores, one machine")
        print(f"  {'':34} {'wall s':>8} {'ep/min':>8} {'speed':>8}")
        local = run_batch(season, Path(tmp) / "local", [])
        print(row("local batch", local, count, seconds), flush=True)
        ray1 = run_batch(season, Path(tmp) / "ray1", one_worker)
        print(row(f"Ray, 1 worker of {cores} cores", ray1, count, seconds), flush=True)
        ray2 = run_batch(season, Path(tmp) / "ray2", ["--ray", "local", "--ray-cpus", str(half)])
        print(row(f"Ray, {cores // half} workers of {half}", ray2, count, seconds), flush=True)
        local_one = run_batch(single, Path(tmp) / "local-one", [])
        ray_one = run_batch(single, Path(tmp) / "ray-one", one_worker)
    per_episode = ((ray1.wall_s - local.wall_s) - (ray_one.wall_s - local_one.wall_s)) / (count - 1)
    fixed = ray_one.wall_s - local_one.wall_s - per_episode
    print(
        f"  Ray's overhead per episode: {per_episode:+.2f} s; its fixed cost (start, worker): {fixed:+.1f} s "
        f"(one episode: local {local_one.wall_s:.1f} s, Ray {ray_one.wall_s:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
