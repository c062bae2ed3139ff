"""Alignment figures against known truth: one function computes them all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Figures:
    median_ms: float
    p95_ms: float
    starts_125: float
    starts_250: float
    unspoken_precision: float
    unspoken_recall: float
    unscripted_recall: float
    lines: int
    false_unspoken: int = 0  # spoken lines the result calls unspoken
    max_start_s: float = float("nan")  # the worst start error over spoken lines (inf: one left untimed)


def score(truth: dict, result: dict) -> Figures:
    """Compare an ``align.json``-shaped result with a synthesis truth file.

    Boundary errors are over spoken lines both sides timed; a spoken line left
    untimed counts as a miss in the start shares.
    """
    errors: list[float] = []
    start_errors: list[float] = []
    predicted_unspoken, actual_unspoken = set(), set()
    for want, got in zip(truth["lines"], result["lines"]):
        if not want["ru"]:
            continue
        if not want["spoken"]:
            actual_unspoken.add(want["index"])
        if got["status"] == "unspoken":
            predicted_unspoken.add(want["index"])
        if want["spoken"]:
            if got["start"] is None:
                start_errors.append(float("inf"))
                continue
            start_errors.append(abs(got["start"] - want["start"]))
            errors += [abs(got["start"] - want["start"]), abs(got["end"] - want["end"])]
    hits = len(predicted_unspoken & actual_unspoken)
    spoken = {w["index"] for w in truth["lines"] if w["ru"] and w["spoken"]}
    starts = np.array(start_errors) if start_errors else np.array([np.inf])
    return Figures(
        median_ms=float(np.median(errors) * 1000) if errors else float("nan"),
        p95_ms=float(np.percentile(errors, 95) * 1000) if errors else float("nan"),
        starts_125=float(np.mean(starts <= 0.125)),
        starts_250=float(np.mean(starts <= 0.25)),
        unspoken_precision=hits / len(predicted_unspoken)
        if predicted_unspoken
        else float(not actual_unspoken),
        unspoken_recall=hits / len(actual_unspoken) if actual_unspoken else 1.0,
        unscripted_recall=_covered(truth.get("unscripted", []), result.get("unscripted", [])),
        lines=len(start_errors),
        false_unspoken=len(predicted_unspoken & spoken),
        max_start_s=float(np.max(starts)) if start_errors else float("nan"),
    )


def _covered(actual: list[dict], found: list[dict]) -> float:
    """Share of the true unscripted duration that found spans overlap."""
    total = sum(s["end"] - s["start"] for s in actual)
    if total <= 0:
        return 1.0
    overlap = 0.0
    for a in actual:
        for f in found:
            overlap += max(0.0, min(a["end"], f["end"]) - max(a["start"], f["start"]))
    return min(1.0, overlap / total)
