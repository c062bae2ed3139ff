"""Faults around a run: read-only or full disks, interruptions, two runs at once, a broken model.

Each test starts from an output folder a finished run left behind (with its
stage cache), and checks that whatever goes wrong, every earlier output is
still there byte for byte, no temp file is left, and a re-run completes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import fileio
from pipeline.cache import StageCache
from pipeline.cli import main
from pipeline.episode import run
from pipeline.errors import BatchLocked, OutputError
from pipeline.fileio import atomic_write_text, output_lock, staged
from pipeline.whisper.model import DEFAULT_MODEL_DIR
from tests.clips import cut_clip
from tests.conftest import ROOT

# What the second run asks for, so that its outputs differ from the first run's.
OTHER_LOOK = ("--profile", "bbc", "--vtt-layout", "stacked")
INTERRUPTED = "subpipe: interrupted; no partial output was written"


@pytest.fixture(scope="module")
def template(tmp_path_factory, sample_samples, sample_truth, engine) -> Path:
    """A five-line episode and the output folder its first run wrote, stage cache included."""
    folder = tmp_path_factory.mktemp("episode")
    cut_clip(sample_samples, sample_truth, first=3, count=5, folder=folder)
    out = folder / "out"
    run(
        folder / "clip.wav",
        folder / "clip.ru-en.txt",
        out,
        engine=engine,
        cache=StageCache(out / ".subpipe-cache"),
    )
    return folder


@pytest.fixture
def episode(tmp_path: Path, template: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "episode"))


def _share(engine: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let `subpipe run` (in this process) use the session's loaded model instead of loading its own."""
    monkeypatch.setattr("pipeline.whisper.asr.load", lambda *args, **kwargs: engine)


def _args(episode: Path, *extra: str) -> list[str]:
    out = episode / "out"
    return [
        "run",
        str(episode / "clip.wav"),
        str(episode / "clip.ru-en.txt"),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def _cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err.strip()


def _outputs(out: Path) -> dict[str, bytes]:
    """The finished files a producer sees (not the cache, the lock or temp files)."""
    return {
        p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and not p.name.startswith(".")
    }


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name == fileio.LOCK_NAME]


def _fail_on_call(number: int, error: BaseException, real: Callable[..., object]) -> Callable[..., object]:
    calls = 0

    def fake(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == number:
            raise error
        return real(*args, **kwargs)

    return fake


# ---------------------------------------------------------------- disk full, read-only


def test_disk_full_mid_write_keeps_every_earlier_output(episode: Path, monkeypatch, capsys) -> None:
    out = episode / "out"
    before = _outputs(out)
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", _fail_on_call(3, full, os.fsync))

    code, err = _cli(capsys, *_args(episode, *OTHER_LOOK))

    assert code == 9
    assert len(err.splitlines()) == 1 and err.startswith(f"subpipe: error: {out}/clip.")
    assert err.endswith(
        "no space left on the device; earlier outputs were kept; free some space and run again"
    )
    assert _outputs(out) == before  # not two files of the new run beside ten of the old
    assert not _leftovers(out)

    monkeypatch.undo()
    assert main(_args(episode, *OTHER_LOOK)) == 0
    after = _outputs(out)
    assert after.keys() == before.keys() and after["clip.ru-en.vtt"] != before["clip.ru-en.vtt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_fails_at_once_and_keeps_outputs(episode: Path, capsys) -> None:
    out = episode / "out"
    before = _outputs(out)
    out.chmod(0o555)
    try:
        started = time.monotonic()
        code, err = _cli(capsys, *_args(episode, *OTHER_LOOK))
    finally:
        out.chmod(0o755)
    assert code == 9 and time.monotonic() - started < 5
    assert err == (
        f"subpipe: error: {out}: cannot write here (permission denied or read-only); "
        "choose another output folder"
    )
    assert _outputs(out) == before and not _leftovers(out)


def test_read_only_filesystem_fails_before_any_work(episode: Path, monkeypatch, capsys) -> None:
    out = episode / "out"
    before = _outputs(out)

    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fileio.tempfile, "mkstemp", read_only)
    decoded: list[Path] = []
    monkeypatch.setattr("pipeline.audio.decoder.decode", lambda path, sink=None: decoded.append(path))

    code, err = _cli(capsys, *_args(episode, *OTHER_LOOK))

    assert code == 9
    assert err == (
        f"subpipe: error: {out}: cannot write here (permission denied or read-only); "
        "choose another output folder"
    )
    assert not decoded  # refused before the slow stages, not after them
    assert _outputs(out) == before and not _leftovers(out)


# ---------------------------------------------------------------- interrupted in process, at every stage


def _interrupt_in(stage: str, monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    cache = out / ".subpipe-cache"
    if stage in ("transcribe", "align"):
        shutil.rmtree(cache / "align")  # so the run gets that far
    if stage == "transcribe":
        shutil.rmtree(cache / "asr")

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    targets = {
        "parse": "pipeline.transcript.read_source",
        "decode": "pipeline.audio.decoder.decode",
        "transcribe": "pipeline.whisper.asr.transcribe",
        "align": "pipeline.episode.align",
        "qa": "pipeline.qa.write_reports",
    }
    if stage == "write":
        monkeypatch.setattr(os, "fsync", _fail_on_call(4, KeyboardInterrupt(), os.fsync))
    else:
        monkeypatch.setattr(targets[stage], stop)


@pytest.mark.parametrize("stage", ["parse", "decode", "transcribe", "align", "write", "qa"])
def test_interrupted_at_any_stage_leaves_no_trace_and_a_rerun_completes(
    episode: Path, monkeypatch, capsys, engine, stage: str
) -> None:
    out = episode / "out"
    before = _outputs(out)
    _share(engine, monkeypatch)
    _interrupt_in(stage, monkeypatch, out)

    code, err = _cli(capsys, *_args(episode, *OTHER_LOOK))

    assert (code, err) == (130, INTERRUPTED)
    assert _outputs(out) == before and not _leftovers(out)
    # The stages finished before the interruption stay cached for the re-run.
    assert bool(list((out / ".subpipe-cache").glob("asr/*.json"))) == (stage != "transcribe")

    monkeypatch.undo()
    _share(engine, monkeypatch)
    assert main(_args(episode, *OTHER_LOOK)) == 0
    after = _outputs(out)
    assert after.keys() == before.keys() and after["clip.ru-en.vtt"] != before["clip.ru-en.vtt"]
    assert not _leftovers(out)


# ---------------------------------------------------------------- interrupted for real: signals


# The CLI with its alignment stage held back 3 s: alignment of a short clip takes
# well under a second, too short a moment to be caught reliably from outside.
_SLOW_ALIGN = (
    "import sys, time; import pipeline.episode as e; real = e.align; "
    "e.align = lambda *a, **k: (time.sleep(3), real(*a, **k))[1]; "
    "from pipeline.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _start(episode: Path, *extra: str, slow_align: bool = False) -> subprocess.Popen[bytes]:
    launch = ["-c", _SLOW_ALIGN] if slow_align else ["-m", "pipeline"]
    command = [sys.executable, *launch, *_args(episode, *extra)]
    return subprocess.Popen(  # Ctrl-C as from a terminal, even when the tests run as a background job
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _when(condition: Callable[[], bool], proc: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.01)


def _stopped(proc: subprocess.Popen[bytes], how: signal.Signals) -> str:
    proc.send_signal(how)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + how, err  # 130 for Ctrl-C, 143 for SIGTERM
    return err.decode().strip()


@pytest.mark.slow
def test_signals_at_start_and_mid_run_leave_earlier_outputs_and_the_rerun_resumes(episode: Path) -> None:
    out = episode / "out"
    shutil.rmtree(out / ".subpipe-cache")  # this run transcribes for real
    before = _outputs(out)
    asr_cache = out / ".subpipe-cache" / "asr"

    # Right after start: the run holds OUT, and is still importing.
    proc = _start(episode, *OTHER_LOOK)
    _when((out / fileio.LOCK_NAME).exists, proc)
    assert _stopped(proc, signal.SIGINT) == INTERRUPTED
    assert _outputs(out) == before and not _leftovers(out)

    # SIGTERM (a scheduler, `kill`) is stopped the same way.
    proc = _start(episode, *OTHER_LOOK)
    _when((out / fileio.LOCK_NAME).exists, proc)
    assert _stopped(proc, signal.SIGTERM) == INTERRUPTED
    assert _outputs(out) == before and not _leftovers(out)

    # Between transcription and alignment: the transcription is kept, no output is.
    proc = _start(episode, *OTHER_LOOK, slow_align=True)
    _when(lambda: any(asr_cache.glob("*.json")), proc)
    assert _stopped(proc, signal.SIGINT) == INTERRUPTED
    assert _outputs(out) == before and not _leftovers(out)
    (kept,) = asr_cache.glob("*.json")
    assert json.loads(kept.read_text(encoding="utf-8"))  # whole, not half written

    proc = _start(episode, *OTHER_LOOK)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    stages = next(line for line in stdout.decode().splitlines() if "stages:" in line)
    assert "transcribe" not in stages  # the interrupted run's transcription was reused
    after = _outputs(out)
    assert after.keys() == before.keys() and after["clip.ru-en.vtt"] != before["clip.ru-en.vtt"]
    assert not _leftovers(out)


# ---------------------------------------------------------------- two runs, one folder


def test_a_second_run_on_a_busy_folder_waits_then_fails_clearly(episode: Path, capsys) -> None:
    out = episode / "out"
    before = _outputs(out)
    with output_lock(out, wait=0):
        started = time.monotonic()
        code, err = _cli(capsys, *_args(episode, *OTHER_LOOK, "--wait", "0.5"))
        waited = time.monotonic() - started
    assert code == 9 and 0.5 <= waited < 5
    assert err == (
        f"subpipe: error: {out}: is in use by another subpipe run (pid {os.getpid()}); "
        "wait for it to finish or choose another output folder"
    )
    assert _outputs(out) == before


@pytest.mark.slow
def test_two_runs_at_once_never_interleave_their_files(episode: Path, tmp_path: Path, capsys) -> None:
    # What each run writes on its own, to tell whose files the folder ends with.
    looks = {"netflix": (), "bbc": OTHER_LOOK}
    alone = {}
    for name, extra in looks.items():
        copy = Path(shutil.copytree(episode, tmp_path / name))
        assert main(_args(copy, *extra)) == 0
        alone[name] = _subtitles(copy / "out")
    assert alone["netflix"] != alone["bbc"]
    capsys.readouterr()

    procs = {name: _start(episode, *extra) for name, extra in looks.items()}
    done = {name: proc.communicate(timeout=120) for name, proc in procs.items()}

    codes = {name: procs[name].returncode for name in looks}
    assert set(codes.values()) <= {0, 9} and 0 in codes.values(), done
    for name, code in codes.items():
        if code == 9:  # waited five seconds for the other, then gave up: said so, wrote nothing
            assert (
                done[name][1]
                .decode()
                .strip()
                .endswith("wait for it to finish or choose another output folder")
            )
    final = _subtitles(episode / "out")
    assert final in (alone["netflix"], alone["bbc"])  # one run's set, whole
    assert not _leftovers(episode / "out")


def _subtitles(out: Path) -> dict[str, bytes]:
    return {name: data for name, data in _outputs(out).items() if not name.startswith("clip.qa.")}


# ---------------------------------------------------------------- the model folder


def _model_copy(folder: Path, cut: bool) -> Path:
    folder.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(DEFAULT_MODEL_DIR / name, folder / name)
    with (DEFAULT_MODEL_DIR / "model.bin").open("rb") as whole:
        (folder / "model.bin").write_bytes(whole.read(50_000_000 if cut else 0))
    return folder


def test_missing_or_damaged_model_says_how_to_rebuild_it(
    episode: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    out = episode / "out"
    before = _outputs(out)
    missing = tmp_path / "no-such-model"
    damaged = _model_copy(tmp_path / "damaged-model", cut=True)
    no_bundle = tmp_path / "models" / "whisper-base"

    cases = [
        (["--model", str(missing)], f"{missing}: model folder not found; check --model"),
        (["--model", str(damaged)], f"{damaged}: model.bin is damaged: it ends after 50,000,000 bytes"),
        ([], f"{no_bundle}: default model is missing; run `make model` to rebuild it"),
    ]
    for extra, message in cases:
        monkeypatch.setattr("pipeline.whisper.model.DEFAULT_MODEL_DIR", no_bundle)
        code, err = _cli(capsys, *_args(episode, "--no-cache", *extra))
        assert code == 6
        assert len(err.splitlines()) == 1 and err.startswith(f"subpipe: error: {message}")
        assert "`make model`" in err
        assert _outputs(out) == before and not _leftovers(out)

    _model_copy(no_bundle, cut=True)
    code, err = _cli(capsys, *_args(episode, "--no-cache"))
    assert code == 6 and err == (
        f"subpipe: error: {no_bundle}: model.bin is 50,000,000 bytes, expected 145,217,532; "
        "run `make model` to rebuild it"
    )


def test_verbose_shows_the_traceback_then_the_same_line(episode: Path, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-such-model"
    code, err = _cli(capsys, "--verbose", *_args(episode, "--no-cache", "--model", str(missing)))
    assert code == 6
    assert err.startswith("Traceback (most recent call last):") and "ModelError" in err
    assert err.splitlines()[-1].startswith(f"subpipe: error: {missing}: model folder not found")


# ---------------------------------------------------------------- the pieces: staging and the lock


@pytest.mark.parametrize("damage", ['{"wrong": "shape"}', "[[1, 2]]", '"text"', "[1, 2, 3]"])
def test_a_damaged_cache_entry_is_a_miss_and_the_run_recomputes_it(
    episode: Path, monkeypatch, capsys, engine, damage: str
) -> None:
    _share(engine, monkeypatch)
    out = episode / "out"
    entries = sorted((out / ".subpipe-cache").glob("*/*.json"))
    assert {p.parent.name for p in entries} == {"asr", "align"}
    for path in entries:
        path.write_text(damage, encoding="utf-8")

    assert main(_args(episode)) == 0, capsys.readouterr().err
    stages = next(line for line in capsys.readouterr().out.splitlines() if "stages:" in line)
    assert "transcribe" in stages and "align" in stages  # both recomputed, not an internal error
    for path in entries:
        assert path.read_text(encoding="utf-8") != damage  # and written again, whole


def test_staged_writes_appear_together_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "out"
    atomic_write_text(out / "a.srt", "old a")
    atomic_write_text(out / "b.srt", "old b")

    with pytest.raises(RuntimeError), staged(out):
        atomic_write_text(out / "a.srt", "new a")
        atomic_write_text(out / "cache" / "asr.json", "kept")  # subfolders are not held back
        assert (out / "a.srt").read_text() == "old a"
        raise RuntimeError("the run failed before writing b")
    assert (out / "a.srt").read_text() == "old a" and (out / "b.srt").read_text() == "old b"
    assert (out / "cache" / "asr.json").read_text() == "kept"

    with staged(out):
        atomic_write_text(out / "a.srt", "new a")
        atomic_write_text(out / "a.srt", "newer a")  # written twice: the last one counts
        atomic_write_text(out / "b.srt", "new b")
    assert (out / "a.srt").read_text() == "newer a" and (out / "b.srt").read_text() == "new b"
    assert sorted(p.name for p in out.iterdir()) == ["a.srt", "b.srt", "cache"]


def test_staging_is_per_thread(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out):
        # A batch episode in another thread writes at once, as it always did.
        worker = threading.Thread(target=atomic_write_text, args=(out / "other.srt", "x"))
        worker.start()
        worker.join()
        assert (out / "other.srt").exists()
        atomic_write_text(out / "mine.srt", "y")
        assert not (out / "mine.srt").exists()
    assert (out / "mine.srt").exists()


def test_the_lock_leaves_nothing_behind_and_survives_a_removed_lock_file(tmp_path: Path) -> None:
    out = tmp_path / "fresh" / "out"
    with output_lock(out, wait=0):
        assert (out / fileio.LOCK_NAME).read_text() == f"{os.getpid()} run\n"
    assert not (tmp_path / "fresh" / "out").exists()  # made by the lock, empty: removed again

    out.mkdir(parents=True)
    held = os.open(out / fileio.LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        # The holder removes its file as it finishes; a waiter that opened the
        # old file must not take that for the lock.
        finished = threading.Timer(0.3, lambda: (os.unlink(out / fileio.LOCK_NAME), os.close(held)))
        finished.start()
        with output_lock(out, wait=5):
            assert (out / fileio.LOCK_NAME).exists()
            with pytest.raises(OutputError, match="in use by another subpipe run"), output_lock(out, wait=0):
                pass
        finished.join()
    finally:
        with contextlib.suppress(OSError):
            os.close(held)
    assert list(out.iterdir()) == []


def test_a_run_and_a_batch_share_one_lock_and_each_is_told_who_holds_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    pid = os.getpid()
    with output_lock(out, wait=0, holder="batch"):
        held = pytest.raises(OutputError, match=rf"in use by a subpipe batch \(pid {pid}\)")
        with held as run, output_lock(out, wait=0):
            pass
        assert run.value.exit_code == 9
    with output_lock(out, wait=0):
        held = pytest.raises(BatchLocked, match=rf"a subpipe run \(pid {pid}\) is writing here")
        with held as batch, output_lock(out, wait=0, holder="batch"):
            pass
        assert batch.value.exit_code == 12
    assert not out.exists()  # made by the first lock, never written: removed again


# ---------------------------------------------------------------- what a SIGKILL leaves


def test_a_killed_runs_temp_files_are_swept_by_the_next_holder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".clip.ru-en.srt.k2j4x9.tmp"  # as atomic_write names them
    stale.write_text("half", encoding="utf-8")
    (out / "clip.ru-en.srt").write_text("kept", encoding="utf-8")
    (out / ".subpipe-cache").mkdir()
    cached = out / ".subpipe-cache" / ".entry.json.a1.tmp"  # the cache is swept by its own writers
    cached.write_text("{}", encoding="utf-8")

    with output_lock(out):
        assert not stale.exists()

    assert (out / "clip.ru-en.srt").read_text(encoding="utf-8") == "kept" and cached.exists()


def test_a_killed_runs_encoding_folder_is_removed_and_a_live_ones_kept(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    import numpy as np

    from pipeline.whisper.encoder import EncodedAudio

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = int(finished.stdout)
    orphan = tmp_path / f"subpipe-enc-{dead}-abc123"
    live = tmp_path / f"subpipe-enc-{os.getppid()}-def456"
    for folder in (orphan, live):
        folder.mkdir()
        (folder / "0.npy").write_bytes(b"x" * 1000)

    with EncodedAudio(None, np.zeros(16000, dtype=np.float32), []):  # type: ignore[arg-type]
        assert not orphan.exists() and live.exists()
