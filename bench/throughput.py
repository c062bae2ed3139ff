"""``make bench``: subpipe's whole pipeline against faster-whisper's transcription alone.

For the demo sample and a 30-minute synthesized episode, in one run on one
machine: (a) faster-whisper's sequential transcription, (b) its
BatchedInferencePipeline (batch 8 on CPU, 16 on GPU), (c) ``subpipe run`` (transcription,
alignment, subtitles, QA report), (d) ``subpipe run --no-asr``. Each runs in its
own process; wall time, CPU time and peak memory are that process's.
``--hours 2`` adds a 2-hour episode run through (c) for its peak memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from bench import fw_runs, synth
from bench.measure import Measured, measure
from pipeline import audio, transcript
from pipeline.fileio import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "audio_samples" / "digital-rights-2021.ru-en.txt"
SAMPLE = (ROOT / "audio_samples" / "sample.ogg", ROOT / "audio_samples" / "sample.ru-en.txt")


def cut_long(minutes: float, repeat: int = 1, suffix: str = ".flac") -> tuple[Path, Path]:
    """The long synthesized episode cut at the line nearest ``minutes``, then repeated; cached.

    Past the episode's own length (58 min) it is read again from the top, as a
    show replays its intro, so an episode of any length has known text.
    """
    name = f"long{int(minutes)}x{repeat}"
    folder = synth.BENCH_ROOT / name
    audio_path, text_path = folder / f"episode{suffix}", folder / "episode.tsv"
    if audio_path.exists() and text_path.exists():
        return audio_path, text_path
    files = synth.scenario_long(SEED)
    truth = json.loads(files.truth.read_text(encoding="utf-8"))
    samples = audio.decode(files.audio)
    lines = transcript.read(files.transcript)
    length = audio.duration(samples)
    readings = max(1, math.ceil(minutes * 60 / length))
    ends = [
        (reading * length + t["end"], reading, t["index"])
        for reading in range(readings)
        for t in truth["lines"]
        if t["spoken"] and t["end"] is not None
    ]
    cut_time, reading, last = min(ends, key=lambda end: abs(end[0] - minutes * 60))
    piece = np.tile(samples, reading + 1)[: int((cut_time + 0.5) * audio.SAMPLE_RATE)]
    text = lines * reading + lines[: last + 1]
    synth.encode_audio(np.tile(piece, repeat), audio_path)
    atomic_write_text(text_path, transcript.compose(text * repeat, "tsv"))
    return audio_path, text_path


def stages(output: str) -> str:
    found = re.search(r"stages: (.*)", output)
    return found.group(1) if found else "?"


def engine(output: str) -> str:
    found = re.search(r"model (.*?); stages", output)
    return found.group(1) if found else "?"


def row(label: str, m: Measured, duration: float) -> str:
    return f"  {label:34} {m.wall_s:8.1f} {duration / m.wall_s:7.1f}x {m.cpu_s:8.1f} {m.peak_mb:8.0f}" + (
        "" if m.returncode == 0 else f"  (exit {m.returncode})"
    )


def bench_episode(name: str, audio_path: Path, text_path: Path, sequential: bool = True) -> None:
    duration = audio.duration(audio.decode(audio_path))
    print(f"\n## {name}: {duration / 60:.1f} min of audio")
    print(f"  {'':34} {'wall s':>8} {'speed':>8} {'CPU s':>8} {'peak MB':>8}")
    runs: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if sequential:
            runs["a"] = measure("bench.fw_runs", ["sequential", str(audio_path)])
            print(row("(a) faster-whisper sequential", runs["a"], duration), flush=True)
        runs["b"] = measure("bench.fw_runs", ["batched", str(audio_path)])
        print(row(f"(b) faster-whisper batched ({fw_runs.settings()[2]})", runs["b"], duration), flush=True)
        common = [str(audio_path), str(text_path), "--no-cache", "--no-progress"]
        runs["c"] = measure("pipeline.cli", ["run", *common, "--out", f"{tmp}/c"])
        print(row("(c) subpipe run", runs["c"], duration), flush=True)
        runs["d"] = measure("pipeline.cli", ["run", *common, "--out", f"{tmp}/d", "--no-asr"])
        print(row("(d) subpipe run --no-asr", runs["d"], duration), flush=True)
    print(f"  subpipe's model: {engine(runs['c'].output)}")
    print(f"  stages of (c): {stages(runs['c'].output)}")
    print(f"  stages of (d): {stages(runs['d'].output)}")
    b, c, d = (runs[k].wall_s for k in "bcd")
    versus_a = f"(c) vs (a) {runs['a'].wall_s / c:.2f}x, " if sequential else ""
    print(f"  speed-ups: {versus_a}(c) vs (b) {b / c:.2f}x, (d) vs (b) {b / d:.2f}x, (d) vs (c) {c / d:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the long episode")
    parser.add_argument("--hours", type=float, default=0.0, help="also run (c) on an episode this long")
    parser.add_argument("--skip-sample", action="store_true", help="leave out the demo sample")
    parser.add_argument(
        "--no-sequential",
        action="store_true",
        help="leave out (a), faster-whisper's sequential transcription (the slowest row: 10 min an hour)",
    )
    parser.add_argument("--sample-only", action="store_true", help="only the demo sample (a quick check)")
    parser.add_argument(
        "--episode",
        nargs=2,
        metavar=("AUDIO", "TRANSCRIPT"),
        type=Path,
        help="bench these files as the long episode instead of synthesizing one (no Festival needed)",
    )
    args = parser.parse_args(argv)
    device, compute_type, batch_size = fw_runs.settings()
    print(
        f"device: {device} ({os.cpu_count()} cores); baselines {compute_type}, batch {batch_size}; "
        "subpipe --device auto"
    )
    print("speed = audio duration / wall time; each system runs in its own process, one after another.")
    if not args.skip_sample:
        bench_episode("demo sample", *SAMPLE, sequential=not args.no_sequential)
    if args.sample_only:
        return 0
    bench_episode(
        "long episode", *(args.episode or cut_long(args.minutes)), sequential=not args.no_sequential
    )
    if args.hours:
        repeat = max(1, round(args.hours * 60 / 58))
        audio_path, text_path = cut_long(58, repeat)
        with tempfile.TemporaryDirectory() as tmp:
            m = measure(
                "pipeline.cli",
                ["run", str(audio_path), str(text_path), "--out", tmp, "--no-cache", "--no-progress"],
            )
        duration = audio.duration(audio.decode(audio_path))
        print(f"\n## {duration / 3600:.1f} h episode through (c)")
        print(row("(c) subpipe run", m, duration))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
