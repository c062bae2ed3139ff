"""``make bench-align``: subpipe's alignment against a baseline and a peer, on episodes with known truth.

Synthetic scenarios (Festival's Russian voice, :mod:`bench.synth`, cached
under .cache/bench/): the committed demo sample (2.8 min), clean (5 min),
mismatched (unspoken lines, unscripted inserts, changed words, long
silences, 15 dB noise) and long (the whole seed, about an hour).

Real-speech episodes (one reader's recordings from Debian's festvox-ru,
:mod:`bench.realspeech`): real-clean, real-phone (AMR-NB telephone line),
real-noise (music bed at 12 dB), real-edits and real-edits-2 (unspoken,
unscripted and changed lines), real-repeats (sentences said two or three
times) and, opt-in, real-long (63 min).

Rows: subpipe's full run, ``--no-asr`` (with ``--no-asr``), the baseline
(faster-whisper's own word timestamps mapped onto the reference by text
matching, :mod:`bench.baseline`) and the peer, aeneas (:mod:`bench.aeneas_peer`,
built by ``make aeneas``), all measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import aeneas_peer, realspeech, retime, synth
from bench.measure import Measured, measure
from bench.metrics import Figures, score

SEED = Path(__file__).resolve().parents[1] / "audio_samples" / "digital-rights-2021.ru-en.txt"
SAMPLES = SEED.parent


def committed_sample(_seed: Path) -> synth.EpisodeFiles:
    """The demo sample in audio_samples/, with its truth (made by ``make sample``)."""
    return synth.EpisodeFiles(
        SAMPLES / "sample.ogg", SAMPLES / "sample.ru-en.txt", SAMPLES / "sample.truth.json"
    )


def _real(name: str) -> Callable[[Path], synth.EpisodeFiles]:
    return lambda _seed: realspeech.build(name)


SCENARIOS: dict[str, Callable[[Path], synth.EpisodeFiles]] = {
    "sample": committed_sample,
    "clean": synth.scenario_clean,
    "mismatched": synth.scenario_mismatched,
    "long": synth.scenario_long,
    **{name: _real(name) for name in realspeech.EPISODES},
}
# An hour of real speech through four aligners takes about as long as the rest
# together; it runs when named (or with "all").
OPT_IN = ("real-long",)


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


def run_json(module: str, files: synth.EpisodeFiles, result: Path) -> tuple[dict, Measured]:
    """Run ``python -m MODULE AUDIO TRANSCRIPT RESULT.json``, measured; return the result and the measure."""
    measured = measure(module, [str(files.audio), str(files.transcript), str(result)])
    if measured.returncode != 0:
        raise SystemExit(f"{module} failed on {files.audio}:\n{measured.output[-2000:]}")
    return json.loads(result.read_text(encoding="utf-8")), measured


def run_baseline(files: synth.EpisodeFiles, out: Path) -> tuple[dict, Measured]:
    return run_json("bench.baseline", files, out / "baseline.json")


def run_aeneas(files: synth.EpisodeFiles, out: Path) -> tuple[dict, Measured]:
    return run_json("bench.aeneas_peer", files, out / "aeneas.json")


def table(name: str, truth: dict, rows: list[tuple[str, Figures, Measured]]) -> str:
    duration = truth["duration"]
    spoken = sum(1 for ln in truth["lines"] if ln["ru"] and ln["spoken"])
    unspoken = sum(1 for ln in truth["lines"] if ln["ru"] and not ln["spoken"])
    head = (
        f"{'':10} {'median ms':>9} {'p95 ms':>7} {'≤125ms':>7} {'≤250ms':>7} {'max s':>6} {'false un':>8} "
        f"{'unsp P':>7} {'unsp R':>7} {'unscr R':>7} {'peak MB':>8} {'RTF':>6}"
    )
    lines = [
        f"## {name}: {duration / 60:.1f} min of audio, {spoken} spoken lines, {unspoken} unspoken, "
        f"{len(truth.get('unscripted', []))} unscripted stretches",
        head,
    ]
    for label, f, m in rows:
        lines.append(
            f"{label:10} {f.median_ms:9.0f} {f.p95_ms:7.0f} {f.starts_125:7.1%} {f.starts_250:7.1%} "
            f"{f.max_start_s:6.2f} {f.false_unspoken:8d} "
            f"{f.unspoken_precision:7.2f} {f.unspoken_recall:7.2f} {f.unscripted_recall:7.2f} "
            f"{m.peak_mb:8.0f} {m.wall_s / duration:6.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.align", description=__doc__.split("\n")[0])
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help=f"any of {', '.join(SCENARIOS)}, or all (default: all but {', '.join(OPT_IN)})",
    )
    parser.add_argument(
        "--no-asr", action="store_true", help="also run subpipe --no-asr (read-along, no transcription)"
    )
    parser.add_argument(
        "--no-peer", action="store_true", help="leave out aeneas (otherwise it must be built: make aeneas)"
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="leave out faster-whisper's own word timestamps (the slowest row: 0.3x real time on 2 cores)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each run's outputs in DIR/<scenario>/ (python -m bench.qa --results DIR scores them)",
    )
    args = parser.parse_args(argv)
    if "all" in args.scenarios:
        args.scenarios = list(SCENARIOS)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
    args.scenarios = args.scenarios or [name for name in SCENARIOS if name not in OPT_IN]
    if not args.no_peer and not aeneas_peer.available():
        parser.error(f"aeneas is not built ({aeneas_peer.PYTHON}): run `make aeneas`, or pass --no-peer")
    print("RTF = wall time / audio duration (lower is faster).")
    print(
        "Boundary errors are over the starts and ends of spoken lines; max s is the worst start error "
        "(inf: a spoken line left untimed); false un counts spoken lines called unspoken."
    )
    for name in args.scenarios:
        files = SCENARIOS[name](SEED)
        truth = json.loads(files.truth.read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory() as tmp:
            where = args.keep / name if args.keep else Path(tmp)
            where.mkdir(parents=True, exist_ok=True)
            ours, ours_m = run_subpipe(files, where / "subpipe", [])
            rows = [("subpipe", score(truth, ours), ours_m)]
            if args.no_asr:
                read, read_m = run_subpipe(files, where / "read-along", ["--no-asr"])
                rows.append(("--no-asr", score(truth, read), read_m))
            if not args.no_baseline:
                base, base_m = run_baseline(files, where)
                rows.append(("baseline", score(truth, base), base_m))
            if not args.no_peer:
                peer, peer_m = run_aeneas(files, where)
                rows.append(("aeneas", score(truth, peer), peer_m))
        print(table(name, truth, rows), flush=True)
    # Another tool's subtitles of a real-speech episode, shifted, drifting and edited, re-timed.
    retimed = [name for name in args.scenarios if name in retime.EPISODES]
    retime.report({name: lambda name=name: SCENARIOS[name](SEED) for name in retimed}, args.no_asr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
