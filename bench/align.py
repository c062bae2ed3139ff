"""``make bench-align``: subpipe's alignment against a plain baseline, on episodes with known truth.

Scenarios (synthesized with Festival's Russian voice by :mod:`bench.synth`,
cached under .cache/bench/): the committed demo sample (2.8 min), clean (5 min), mismatched (unspoken lines,
unscripted inserts, changed words, long silences, 15 dB noise) and long (the
whole seed, about an hour). The baseline is faster-whisper's own word
timestamps mapped onto the reference by text matching (:mod:`bench.baseline`),
measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import synth
from bench.measure import Measured, measure
from bench.metrics import Figures, score

SEED = Path(__file__).resolve().parents[1] / "audio_samples" / "digital-rights-2021.ru-en.txt"
SAMPLES = SEED.parent


def committed_sample(_seed: Path) -> synth.EpisodeFiles:
    """The demo sample in audio_samples/, with its truth (made by ``make sample``)."""
    return synth.EpisodeFiles(
        SAMPLES / "sample.ogg", SAMPLES / "sample.ru-en.txt", SAMPLES / "sample.truth.json"
    )


SCENARIOS: dict[str, Callable[[Path], synth.EpisodeFiles]] = {
    "sample": committed_sample,
    "clean": synth.scenario_clean,
    "mismatched": synth.scenario_mismatched,
    "long": synth.scenario_long,
}


def run_subpipe(files: synth.EpisodeFiles, out: Path, extra: list[str]) -> tuple[dict, Measured]:
    measured = measure(
        "pipeline.cli",
        [
            "run",
            str(files.audio),
            str(files.transcript),
            "--out",
            str(out),
            "--no-cache",
            "--no-progress",
            *extra,
        ],
    )
    result = out / f"{files.audio.stem}.align.json"
    if measured.returncode != 0 or not result.exists():
        raise SystemExit(f"subpipe failed on {files.audio}:\n{measured.output[-2000:]}")
    return json.loads(result.read_text(encoding="utf-8")), measured


def run_baseline(files: synth.EpisodeFiles, out: Path) -> tuple[dict, Measured]:
    result = out / "baseline.json"
    measured = measure("bench.baseline", [str(files.audio), str(files.transcript), str(result)])
    if measured.returncode != 0:
        raise SystemExit(f"baseline failed on {files.audio}:\n{measured.output[-2000:]}")
    return json.loads(result.read_text(encoding="utf-8")), measured


def table(name: str, duration: float, rows: list[tuple[str, Figures, Measured]]) -> str:
    head = (
        f"{'':10} {'median ms':>9} {'p95 ms':>7} {'≤125ms':>7} {'≤250ms':>7} {'unsp P':>7} {'unsp R':>7} "
        f"{'unscr R':>7} {'peak MB':>8} {'RTF':>6}"
    )
    lines = [f"## {name}: {duration / 60:.1f} min of audio", head]
    for label, f, m in rows:
        lines.append(
            f"{label:10} {f.median_ms:9.0f} {f.p95_ms:7.0f} {f.starts_125:7.1%} {f.starts_250:7.1%} "
            f"{f.unspoken_precision:7.2f} {f.unspoken_recall:7.2f} {f.unscripted_recall:7.2f} "
            f"{m.peak_mb:8.0f} {m.wall_s / duration:6.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.align", description=__doc__.split("\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"any of {', '.join(SCENARIOS)} (all)"
    )
    parser.add_argument(
        "--no-asr", action="store_true", help="also run subpipe --no-asr (read-along, no transcription)"
    )
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
    args.scenarios = args.scenarios or list(SCENARIOS)
    print("RTF = wall time / audio duration (lower is faster).")
    print("Boundary errors are over the starts and ends of spoken lines.")
    for name in args.scenarios:
        files = SCENARIOS[name](SEED)
        truth = json.loads(files.truth.read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory() as tmp:
            ours, ours_m = run_subpipe(files, Path(tmp) / "subpipe", [])
            rows = [("subpipe", score(truth, ours), ours_m)]
            if args.no_asr:
                read, read_m = run_subpipe(files, Path(tmp) / "read-along", ["--no-asr"])
                rows.append(("--no-asr", score(truth, read), read_m))
            base, base_m = run_baseline(files, Path(tmp))
        rows.append(("baseline", score(truth, base), base_m))
        print(table(name, truth["duration"], rows), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
