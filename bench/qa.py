"""How well the QA findings recover known edits: ``make bench-qa``.

Runs the whole pipeline on the synthetic "mismatched" episode (lines left
unsaid, unscripted speech inserted, words changed between what is said and
what is written; see :func:`bench.synth.scenario_mismatched`) and
scores its ``qa.json`` against the episode's truth:

* unspoken lines: precision and recall of ``unspoken`` findings;
* unscripted speech: a true stretch is recovered when an ``unscripted`` finding
  (or a ``missing_russian`` one, for Russian said where only English is
  written) overlaps it; precision is over ``unscripted`` findings;
* changed words: recall among the top-ranked ``transcript_error`` findings,
  the first ``2 N`` for ``N`` changed words (``recall@N`` is printed too); a
  finding catches a change when it is on that line and names the written word
  or covers the time the other word was said.

Then the real-speech episodes (:mod:`bench.realspeech`; exact transcripts and
the edited ones), scored per line (:func:`transcript_figures`): false alarms
per hour (``transcript_error`` findings on lines said as written), the share
of changed lines with a finding, the share of findings on changed lines, and
unspoken/unscripted precision and recall. Where findings carry a
``"verdict"``, each verdict (``likely``, ``possible``) gets its own row.

Usage: ``python -m bench.qa [EPISODE ...] [--episode DIR] [--out DIR]``; by
default the synthetic episode and every real one but real-long ("all" adds it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.normalize import normalize_text

OVERLAP = 0.1  # seconds two stretches must share to be the same event


@dataclass(frozen=True)
class Recovery:
    unspoken_precision: float
    unspoken_recall: float
    unscripted_precision: float
    unscripted_recall: float
    changed_recall: float  # among the top 2N transcript-error findings
    changed_recall_at_n: float  # among the top N
    counts: dict[str, int]

    def passes(self) -> bool:
        return (
            min(self.unspoken_precision, self.unspoken_recall) >= 0.9
            and min(self.unscripted_precision, self.unscripted_recall) >= 0.9
            and self.changed_recall >= 0.8
        )

    def lines(self) -> list[str]:
        c = self.counts
        unspoken = f"precision {self.unspoken_precision:.2f}  recall {self.unspoken_recall:.2f}"
        unscripted = f"precision {self.unscripted_precision:.2f}  recall {self.unscripted_recall:.2f}"
        return [
            f"unspoken lines     {unspoken}  ({c['unspoken_found']} found, {c['unspoken_true']} true)",
            f"unscripted speech  {unscripted}  ({c['unscripted_found']} found, {c['unscripted_true']} true)",
            f"changed words      recall@2N {self.changed_recall:.2f}  recall@N {self.changed_recall_at_n:.2f}"
            f"  (N = {c['changed_true']}, {c['transcript_errors']} transcript-error findings)",
        ]


def recovery(truth: dict[str, Any], qa: dict[str, Any]) -> Recovery:
    """Score a ``qa.json`` against a synthesis truth (the shape :mod:`bench.synth` writes)."""
    findings = qa["findings"]
    of = {kind: [f for f in findings if f["kind"] == kind] for kind in {f["kind"] for f in findings}}
    actual_unspoken = {ln["index"] for ln in truth["lines"] if not ln["spoken"] and ln["ru"]}
    found_unspoken = {f["line"] for f in of.get("unspoken", [])}
    unscripted = of.get("unscripted", [])
    covering = unscripted + [f for f in of.get("missing_russian", []) if f["heard"]]
    stretches = truth["unscripted"]
    changed = truth["changed_words"]
    errors = of.get("transcript_error", [])
    return Recovery(
        unspoken_precision=_share(found_unspoken & actual_unspoken, found_unspoken),
        unspoken_recall=_share(found_unspoken & actual_unspoken, actual_unspoken),
        unscripted_precision=_ratio(sum(_overlaps_any(f, stretches) for f in unscripted), unscripted),
        unscripted_recall=_ratio(sum(_overlaps_any(s, covering) for s in stretches), stretches),
        changed_recall=_ratio(sum(_caught(c, errors[: 2 * len(changed)], truth) for c in changed), changed),
        changed_recall_at_n=_ratio(sum(_caught(c, errors[: len(changed)], truth) for c in changed), changed),
        counts={
            "unspoken_found": len(found_unspoken),
            "unspoken_true": len(actual_unspoken),
            "unscripted_found": len(unscripted),
            "unscripted_true": len(stretches),
            "changed_true": len(changed),
            "transcript_errors": len(errors),
        },
    )


def _share(hits: set[int], of: set[int]) -> float:
    return len(hits) / len(of) if of else 1.0


def _ratio(hits: int, of: Sequence[object]) -> float:
    return hits / len(of) if of else 1.0


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return min(a["end"], b["end"]) - max(a["start"], b["start"]) >= OVERLAP


def _overlaps_any(a: dict[str, Any], others: Sequence[dict[str, Any]]) -> bool:
    return any(_overlaps(a, b) for b in others)


def _caught(change: dict[str, Any], findings: Sequence[dict[str, Any]], truth: dict[str, Any]) -> bool:
    """A finding on the changed word's line that names the word or covers the time it was said."""
    written = normalize_text(change["written"])
    words = truth["lines"][change["line"]].get("words") or []
    said = words[change["position"]] if change["position"] < len(words) else {}
    for f in findings:
        if f["line"] != change["line"]:
            continue
        if all(t in normalize_text(f["reference"]) for t in written):
            return True
        if said.get("start") is not None and min(f["end"], said["end"]) > max(f["start"], said["start"]):
            return True
    return False


@dataclass(frozen=True)
class TranscriptFigures:
    """``transcript_error`` findings of one tier (all, or one verdict) against the changed lines."""

    tier: str
    findings: int
    false_alarms: int  # findings on lines said exactly as written
    per_hour: float  # false alarms per hour of audio
    changed_found: int  # changed lines with a finding of this tier
    changed: int
    on_changed: int  # findings on changed lines

    @property
    def recall(self) -> float:
        return self.changed_found / self.changed if self.changed else float("nan")

    @property
    def precision(self) -> float:
        return self.on_changed / self.findings if self.findings else float("nan")

    def line(self) -> str:
        recall = f"{self.recall:6.2f}" if self.changed else f"{'-':>6}"
        precision = f"{self.precision:6.2f}" if self.changed else f"{'-':>6}"
        return (
            f"  {self.tier:9} {self.findings:8d} {self.false_alarms:8d} {self.per_hour:9.0f} "
            f"{recall} ({self.changed_found}/{self.changed}) {precision}"
        )


TRANSCRIPT_HEAD = (
    f"  {'tier':9} {'findings':>8} {'false':>8} {'false/h':>9} {'recall':>6} {'':7} {'prec.':>6}"
)


def verdict_tiers(qa: dict[str, Any]) -> list[str | None]:
    """None (every finding), then each verdict findings carry, ``likely`` first."""
    found = {f["verdict"] for f in qa["findings"] if f["kind"] == "transcript_error" and f.get("verdict")}
    order = ["likely", "possible"]
    return [None, *sorted(found, key=lambda v: (order.index(v) if v in order else len(order), v))]


def transcript_figures(
    truth: dict[str, Any], qa: dict[str, Any], verdict: str | None = None
) -> TranscriptFigures:
    """Line-level figures of ``transcript_error`` findings (of one verdict, or all)."""
    changed = {c["line"] for c in truth.get("changed_lines", [])}
    errors = [
        f
        for f in qa["findings"]
        if f["kind"] == "transcript_error" and (verdict is None or f.get("verdict") == verdict)
    ]
    on_changed = [f for f in errors if f["line"] in changed]
    false = len(errors) - len(on_changed)
    hours = truth["duration"] / 3600
    return TranscriptFigures(
        tier=verdict or "all",
        findings=len(errors),
        false_alarms=false,
        per_hour=false / hours if hours else float("nan"),
        changed_found=len({f["line"] for f in on_changed}),
        changed=len(changed),
        on_changed=len(on_changed),
    )


def real_report(name: str, truth: dict[str, Any], qa: dict[str, Any], stages: str = "") -> list[str]:
    """The printed block of one real-speech episode."""
    figures = recovery(truth, qa)
    lines = [
        f"## {name}: {truth['duration'] / 60:.1f} min, {len(truth['lines'])} lines, "
        f"{len(truth.get('changed_lines', []))} changed; WER {qa['wer']:.3f}{stages}",
        "transcript_error findings (false: on lines said as written):",
        TRANSCRIPT_HEAD,
    ]
    lines += [transcript_figures(truth, qa, tier).line() for tier in verdict_tiers(qa)]
    # Recovery's own unspoken and unscripted rows; its changed-words row is the synthetic one's.
    lines += figures.lines()[:2]
    return lines


def run_real(name: str, out_root: Path, results: Path | None = None) -> list[str]:
    """Run the pipeline on a real-speech episode (or read the ``qa.json`` that
    ``bench.align --keep`` left in ``results``) and score its findings."""
    from bench import realspeech
    from pipeline.cache import StageCache
    from pipeline.episode import run

    files = realspeech.build(name)
    truth = json.loads(files.truth.read_text(encoding="utf-8"))
    stages = ""
    if results is not None:
        out = results / name / "subpipe"
    else:
        out = out_root / name
        result = run(files.audio, files.transcript, out, cache=StageCache(out_root / ".cache"))
        seconds = result.stage_seconds
        cached = f"; reused {', '.join(result.cache_hits)}" if result.cache_hits else ""
        stages = f"; QA stage {seconds.get('qa', 0.0):.1f} s of {sum(seconds.values()):.1f} s{cached}"
    qa = json.loads((out / f"{files.audio.stem}.qa.json").read_text(encoding="utf-8"))
    POOLED.append((truth, qa))
    return real_report(name, truth, qa, stages)


POOLED: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (truth, qa.json) of each real episode run


def pooled_report(episodes: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    """The targets' figures over all the real episodes scored: false alarms per hour on the exact
    transcripts, recall and precision on the edited ones, per verdict."""
    exact = [(t, q) for t, q in episodes if not t.get("changed_lines")]
    edited = [(t, q) for t, q in episodes if t.get("changed_lines")]
    out = [f"## pooled: {len(exact)} exact episodes, {len(edited)} edited", TRANSCRIPT_HEAD]
    for tier in ("likely", "possible"):
        rows = [transcript_figures(t, q, tier) for t, q in episodes]
        hours = sum(t["duration"] for t, _ in exact) / 3600
        false = sum(transcript_figures(t, q, tier).false_alarms for t, q in exact)
        found = sum(r.findings for r in rows if r.changed)
        on = sum(r.on_changed for r in rows)
        pooled = TranscriptFigures(
            tier=tier,
            findings=found,
            false_alarms=false,
            per_hour=false / hours if hours else float("nan"),
            changed_found=sum(r.changed_found for r in rows),
            changed=sum(r.changed for r in rows),
            on_changed=on,
        )
        out.append(pooled.line() + "   (false/h: exact episodes; recall, precision: edited ones)")
    return out


def run_synthetic(episode: Path, out: Path) -> bool:
    from bench import synth
    from pipeline.cache import StageCache
    from pipeline.episode import run

    audio = episode / "episode.flac"
    if not audio.exists():
        synth.scenario_mismatched(synth.REPO_ROOT / "audio_samples" / "digital-rights-2021.ru-en.txt")
    truth = json.loads((episode / "episode.truth.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    result = run(audio, episode / "episode.ru-en.txt", out, cache=StageCache(out / ".cache"))
    qa = json.loads((out / "episode.qa.json").read_text(encoding="utf-8"))
    figures = recovery(truth, qa)
    html = out / "episode.qa.html"
    print(
        f"{audio} ({truth['duration']:.0f} s, {len(truth['lines'])} lines): "
        f"WER {qa['wer']:.3f}, CER {qa['cer']:.3f}, {len(qa['findings'])} findings "
        f"in {time.perf_counter() - started:.0f} s (QA stage {result.stage_seconds.get('qa', 0.0):.1f} s); "
        f"{html} is {html.stat().st_size / 1e6:.2f} MB"
    )
    for line in figures.lines():
        print(line)
    print("PASS" if figures.passes() else "FAIL: below 0.9 / 0.9 / 0.8")
    return figures.passes()


def main(argv: Sequence[str] | None = None) -> int:
    from bench import realspeech, synth

    episodes = ["mismatched", *realspeech.EPISODES]
    parser = argparse.ArgumentParser(prog="python -m bench.qa", description=__doc__.split("\n")[0])
    parser.add_argument(
        "episodes",
        nargs="*",
        metavar="EPISODE",
        help=f"any of {', '.join(episodes)}, or all (default: all but real-long)",
    )
    parser.add_argument(
        "--episode", type=Path, default=synth.BENCH_ROOT / "mismatched", help="synthetic episode folder"
    )
    parser.add_argument("--out", type=Path, default=synth.BENCH_ROOT / "qa", help="where the runs write")
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="score the real episodes' qa.json left by `python -m bench.align --keep DIR` instead of running",
    )
    args = parser.parse_args(argv)
    chosen = (
        episodes if "all" in args.episodes else args.episodes or [e for e in episodes if e != "real-long"]
    )
    unknown = set(chosen) - set(episodes)
    if unknown:
        parser.error(f"unknown episode {', '.join(sorted(unknown))}")
    passed = True
    for name in chosen:
        if name == "mismatched":
            passed = run_synthetic(args.episode, args.out)
        else:
            print("\n".join(run_real(name, args.out, args.results)), flush=True)
    if len(POOLED) > 1:
        print("\n".join(pooled_report(POOLED)))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
