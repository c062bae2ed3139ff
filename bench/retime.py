"""Re-timing another tool's subtitles: ``subpipe run AUDIO old.srt`` against the episode's truth.

An episode's truth is written as the SRT a vendor might send: every time
shifted by a constant offset and stretched by a frame-rate drift (25 fps
subtitles on a 23.976 fps cut run 4.3 % slow), a few lines dropped and a few
reworded. subpipe reads the SRT as its transcript (the old times are not
used) and places every line it kept from the audio; the starts are scored
against the truth of those lines. The SRT's own starts are scored too, to
show how far off they were.

``make bench-align`` re-times real-clean after its scenarios;
``python -m bench.retime [SCENARIO ...] [--no-asr]`` re-times any of them alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.episode_builder import EpisodeFiles
from bench.measure import Measured, measure
from bench.metrics import Figures, score
from pipeline.subtitles.formats._common import timestamp

OFFSET_S = 3.7  # the subtitles start this late
DRIFT = 25 / 23.976  # and run this much slower: a 25 fps file on a 23.976 fps cut
DROPPED_SHARE = 0.05  # lines the vendor left out
EDITED_SHARE = 0.1  # lines reworded: a word dropped and another replaced
SEED = 18


@dataclass(frozen=True, slots=True)
class OldSubtitles:
    """The damaged SRT, and which truth line each of its cues carries."""

    text: str
    kept: tuple[int, ...]  # truth line indices, in cue order
    edited: frozenset[int]


def damage(truth: dict, seed: int = SEED) -> OldSubtitles:
    """The truth's spoken lines as an SRT with wrong times, a few lines gone and a few reworded."""
    rng = np.random.default_rng(seed)
    spoken = [k for k, line in enumerate(truth["lines"]) if line["ru"] and line["spoken"]]
    n = len(spoken)
    dropped = set(rng.choice(spoken, size=max(1, round(DROPPED_SHARE * n)), replace=False).tolist())
    kept = [k for k in spoken if k not in dropped]
    long_enough = [k for k in kept if len(truth["lines"][k]["ru"].split()) >= 4]
    edited = set(rng.choice(long_enough, size=round(EDITED_SHARE * n), replace=False).tolist())
    vocabulary = sorted({w for k in spoken for w in truth["lines"][k]["ru"].split() if len(w) > 3})
    cues = []
    for number, k in enumerate(kept, start=1):
        line = truth["lines"][k]
        words = line["ru"].split()
        if k in edited:
            gone = int(rng.integers(1, len(words)))
            del words[gone]
            words[int(rng.integers(0, len(words)))] = str(rng.choice(vocabulary))
        start = OFFSET_S + line["start"] * DRIFT
        end = OFFSET_S + line["end"] * DRIFT
        cues.append(f"{number}\n{timestamp(start, ',')} --> {timestamp(end, ',')}\n{' '.join(words)}\n")
    return OldSubtitles("\n".join(cues), tuple(kept), frozenset(edited))


def _kept_truth(truth: dict, old: OldSubtitles) -> dict:
    return {**truth, "lines": [truth["lines"][k] for k in old.kept], "unscripted": []}


def _old_times(truth: dict, old: OldSubtitles) -> dict:
    """The SRT's own times as a result, to score what the vendor sent."""
    lines = [
        {
            "status": "aligned",
            "start": OFFSET_S + line["start"] * DRIFT,
            "end": OFFSET_S + line["end"] * DRIFT,
        }
        for line in _kept_truth(truth, old)["lines"]
    ]
    return {"lines": lines, "unscripted": []}


def retime(files: EpisodeFiles, out: Path, extra: list[str]) -> tuple[dict, dict, Measured]:
    """Write the damaged SRT into ``out``, re-time it: the kept lines' truth, the results, the cost."""
    truth = json.loads(files.truth.read_text(encoding="utf-8"))
    old = damage(truth)
    out.mkdir(parents=True, exist_ok=True)
    srt = out / f"{files.audio.stem}.old.srt"
    srt.write_text(old.text, encoding="utf-8")
    measured = measure(
        "pipeline.cli",
        ["run", str(files.audio), str(srt), "--out", str(out / "run"), "--no-cache", "--no-progress", *extra],
    )
    result = out / "run" / f"{files.audio.stem}.align.json"
    if measured.returncode != 0 or not result.exists():
        raise SystemExit(f"subpipe failed re-timing {srt}:\n{measured.output[-2000:]}")
    got = json.loads(result.read_text(encoding="utf-8"))
    if len(got["lines"]) != len(old.kept):
        raise SystemExit(f"{srt}: {len(old.kept)} cues but {len(got['lines'])} transcript lines")
    return _kept_truth(truth, old), {"old": _old_times(truth, old), "new": got}, measured


def table(name: str, truth: dict, rows: list[tuple[str, Figures, Measured | None]]) -> str:
    lines = [
        f"## re-timing {name}: the truth as an SRT {OFFSET_S:g} s late, running "
        f"{100 * (DRIFT - 1):.1f} % slow, {DROPPED_SHARE:.0%} of lines dropped, {EDITED_SHARE:.0%} "
        f"reworded; {len(truth['lines'])} cues kept",
        f"{'':17} {'median ms':>9} {'p95 ms':>8} {'≤125ms':>7} {'≤250ms':>7} {'RTF':>6}",
    ]
    for label, f, m in rows:
        rtf = f"{m.wall_s / truth['duration']:6.3f}" if m else f"{'':>6}"
        lines.append(
            f"{label:17} {f.median_ms:9.0f} {f.p95_ms:8.0f} {f.starts_125:7.1%} {f.starts_250:7.1%} {rtf}"
        )
    return "\n".join(lines)


# The real-speech episode re-timed by make bench-align (5 min, exact transcript).
EPISODES = ("real-clean",)


def report(episodes: dict[str, Callable[[], EpisodeFiles]], no_asr: bool = False) -> None:
    """Print the re-timing table of each episode (subpipe run, and ``--no-asr`` when asked)."""
    for name, build in episodes.items():
        files = build()
        with tempfile.TemporaryDirectory() as tmp:
            truth, results, measured = retime(files, Path(tmp) / "asr", [])
            rows: list[tuple[str, Figures, Measured | None]] = [
                ("old SRT", score(truth, results["old"]), None),
                ("re-timed", score(truth, results["new"]), measured),
            ]
            if no_asr:
                _, read, read_m = retime(files, Path(tmp) / "read-along", ["--no-asr"])
                rows.append(("re-timed --no-asr", score(truth, read["new"]), read_m))
        print(table(name, truth, rows), flush=True)


def main(argv: list[str] | None = None) -> int:
    from bench.align import SCENARIOS
    from bench.align import SEED as SEED_TEXT

    parser = argparse.ArgumentParser(prog="python -m bench.retime", description=__doc__.split("\n")[0])
    parser.add_argument(
        "episodes", nargs="*", default=list(EPISODES), help=f"bench-align scenarios (default: {EPISODES[0]})"
    )
    parser.add_argument("--no-asr", action="store_true", help="also re-time with subpipe --no-asr")
    args = parser.parse_args(argv)
    unknown = set(args.episodes) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown episode {', '.join(sorted(unknown))}")
    report({name: lambda name=name: SCENARIOS[name](SEED_TEXT) for name in args.episodes}, args.no_asr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
