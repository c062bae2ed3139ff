"""Ctrl-C and SIGTERM at any moment of a real run: exit 130 or 143 within a second, OUT as it was.

The run is a 45-minute MP3 (the sample's speech, repeated), long enough that
decoding alone takes seconds: PyAV's resampler used to swallow about half of
the signals that arrived while it worked, and the run went on to replace the
outputs. The watcher that ends a run whose main thread is stuck in a library
is tested on its own, with a main thread that swallows every interrupt.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline import fileio
from pipeline.audio import SAMPLE_RATE
from tests.conftest import ROOT, SAMPLE_TRANSCRIPT
from tests.test_reliability_faults import _when
from tests.test_reliability_media import encode

pytestmark = pytest.mark.alone  # it times how fast a run stops: not beside other tests

INTERRUPTED = "subpipe: interrupted; no partial output was written"
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
WITHIN = 1.0  # seconds from the signal to the end of the process, as the README promises
# Seconds after the run locks OUT (its handlers are set by then). On an idle
# 2-core machine the run imports its stages until ~1.3 s, decodes the 45 min
# until ~5 s, then finds the speech and starts the model: the moments cover
# each; at the even ones the run would transcribe, at the odd ones read along (--no-asr).
MOMENTS = (0.0, 0.7, 1.5, 2.5, 4.0, 7.0)


def repeat_packets(piece: Path, target: Path, times: int) -> Path:
    """``piece``'s packets ``times`` over, one after another, into ``target`` (no re-encoding: fast)."""
    import av

    with av.open(str(piece)) as source, av.open(str(target), "w") as out:
        stream = source.streams.audio[0]
        copy = out.add_stream_from_template(stream)
        packets = [(bytes(p), p.pts, p.duration, p.time_base) for p in source.demux(stream) if p.size]
        step = packets[-1][1] + packets[-1][2] - packets[0][1]
        for k in range(times):
            for data, pts, duration, time_base in packets:
                packet = av.Packet(data)
                packet.pts = packet.dts = pts + k * step
                packet.duration, packet.time_base, packet.stream = duration, time_base, copy
                out.mux(packet)
    return target


@pytest.fixture(scope="module")
def long_episode(tmp_path_factory, sample_samples: np.ndarray) -> Path:
    folder = tmp_path_factory.mktemp("long")
    minute = encode(folder / "minute.mp3", sample_samples[: 60 * SAMPLE_RATE], codec="libmp3lame")
    repeat_packets(minute, folder / "long.mp3", 45)
    (folder / "long.ru-en.txt").write_bytes(SAMPLE_TRANSCRIPT.read_bytes())
    return folder


def _earlier_outputs(out: Path) -> dict[str, bytes]:
    """What an earlier run left in OUT (the content only has to be told apart from a new run's)."""
    out.mkdir(exist_ok=True)
    files = {f"long.{kind}": f"earlier {kind}\n".encode() for kind in ("ru-en.srt", "ru-en.vtt", "qa.json")}
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name == fileio.LOCK_NAME]


def _stop_at(
    episode: Path, out: Path, moment: float, how: signal.Signals, asr: bool
) -> tuple[int, float, str]:
    """Run, send ``how`` ``moment`` s after the run locks ``out``: its exit code, seconds to stop, stderr."""
    assert not (out / fileio.LOCK_NAME).exists()
    command = [sys.executable, "-m", "pipeline", "run", str(episode / "long.mp3")]
    command += [str(episode / "long.ru-en.txt"), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(
        [*command, *([] if asr else ["--no-asr"])],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell's background jobs ignore SIGINT (and subpipe keeps that); Ctrl-C is what we test.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _when((out / fileio.LOCK_NAME).exists, proc)
    time.sleep(moment)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(how)
    sent = time.monotonic()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return -9, time.monotonic() - sent, err.decode()
    return proc.returncode, time.monotonic() - sent, err.decode()


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_at_any_moment_stops_the_run_within_a_second_and_leaves_out_as_it_was(
    long_episode: Path, how: signal.Signals
) -> None:
    out = long_episode / f"out-{how.name}"
    before = _earlier_outputs(out)
    results = []
    for k, moment in enumerate(MOMENTS):
        code, took, err = _stop_at(long_episode, out, moment, how, asr=k % 2 == 0)
        results.append((moment, code, round(took, 2)))
        assert (code, err.strip()) == (CODES[how], INTERRUPTED), (moment, code, err)
        assert took < WITHIN, results
        assert _outputs(out) == before, moment
        assert not _leftovers(out), moment
    print(f"{how.name}: (seconds after the lock, exit code, seconds to stop): {results}")


# ---------------------------------------------------------------- the watcher, on its own

_STUCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipeline import interrupts
    from pipeline.fileio import atomic_write_text, output_lock, staged

    out, patience = Path(sys.argv[1]), float(sys.argv[2])
    with interrupts.handling("stopped"), interrupts.grace(patience), output_lock(out), staged(out):
        atomic_write_text(out / "new.srt", "a half-made set")
        ready = False
        while True:  # a library that catches every KeyboardInterrupt and carries on
            try:
                if not ready:
                    ready = print("ready", flush=True) or True
                time.sleep(10)
            except KeyboardInterrupt:
                pass
    """
)


@pytest.mark.parametrize(
    ("how", "patience"),
    [(signal.SIGINT, 0.0), (signal.SIGTERM, 0.0), (signal.SIGTERM, 2.0)],
    ids=["SIGINT", "SIGTERM", "SIGTERM-a-block-asks-for-2s"],
)
def test_a_run_stuck_in_a_library_that_swallows_the_interrupt_is_ended_all_the_same(
    tmp_path: Path, how: signal.Signals, patience: float
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "new.srt").write_text("earlier", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", _STUCK, str(out), str(patience)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    proc.send_signal(how)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == CODES[how] and err.decode() == "stopped\n"
    assert patience <= time.monotonic() - sent < max(patience, 0.25) + WITHIN - 0.25
    assert [p.name for p in out.iterdir()] == ["new.srt"]  # no temp file, no lock
    assert (out / "new.srt").read_text(encoding="utf-8") == "earlier"


def test_renames_in_a_critical_stretch_are_not_broken_into() -> None:
    """A signal in the middle of a set of renames is acted on after the last one."""
    import os

    from pipeline import interrupts

    done = []
    with pytest.raises(KeyboardInterrupt), interrupts.handling("stopped"):
        with interrupts.critical():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler has run by now: it deferred the interrupt
            done.append(("all renamed", interrupts.exit_code()))
        done.append(("not reached", 0))
    assert done == [("all renamed", 143)]
    interrupts.check()  # the run is over: its signal is not raised again in the code it returns to
