"""Run a command in a child process and measure wall time, CPU time and peak memory.

``python -m bench.measure REPORT.json MODULE ARGS...`` runs ``MODULE``'s
``main`` as if from the command line and writes its own peak RSS and CPU time
to REPORT.json when it exits, so each measured run is isolated from the others.
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    peak_mb: float
    returncode: int
    output: str


def measure(module: str, args: list[str], env: dict[str, str] | None = None) -> Measured:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bench.measure", str(report), module, *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
        wall = time.perf_counter() - started
        stats = (
            json.loads(report.read_text())
            if report.exists()
            else {"cpu_s": float("nan"), "peak_mb": float("nan")}
        )
    return Measured(wall, stats["cpu_s"], stats["peak_mb"], done.returncode, done.stdout + done.stderr)


def _child(report: Path, module: str, args: list[str]) -> int:
    sys.argv = [module, *args]
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # A module that hands the work to a child process (the aeneas peer, in its own
    # venv) is measured by that child: CPU adds up, the peak is the larger of the two.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    peak_kb = max(usage.ru_maxrss, children.ru_maxrss)
    report.write_text(json.dumps({"cpu_s": cpu, "peak_mb": peak_kb / 1024}))
    return code


if __name__ == "__main__":
    raise SystemExit(_child(Path(sys.argv[1]), sys.argv[2], sys.argv[3:]))
