"""Batch runs on a small season of real clips: incremental, isolated, resumable, locked."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import srt

from pipeline import audio
from pipeline.batch.inputs import find_episodes
from pipeline.batch.state import Fingerprint, fingerprint
from pipeline.cli import main
from pipeline.fileio import output_lock
from pipeline.transcript import compose, read
from pipeline.whisper import asr
from tests.clips import cut_clip
from tests.conftest import ROOT

GOOD = ("ep01", "ep02", "ep03")


@pytest.fixture(scope="module")
def season(tmp_path_factory, sample_samples, sample_truth) -> Path:
    """Three short real episodes (one with a TSV transcript), a corrupt one and a stray audio file."""
    folder = tmp_path_factory.mktemp("season")
    scratch = tmp_path_factory.mktemp("scratch")
    for k, stem in enumerate(GOOD):
        clip_audio, clip_text, _ = cut_clip(sample_samples, sample_truth, 4 * k, 2, scratch)
        clip_audio.rename(folder / f"{stem}.wav")
        if stem == "ep02":
            (folder / "ep02.tsv").write_text(compose(read(clip_text), "tsv"), encoding="utf-8")
        else:
            clip_text.rename(folder / f"{stem}.txt")
    (folder / "ep04.mp3").write_bytes(b"this is not audio at all " * 40)
    shutil.copy(folder / "ep01.txt", folder / "ep04.txt")
    (folder / "ep05.ogg").write_bytes(b"OggS but no transcript")
    return folder


def _batch(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["batch", *args, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _manifest(out: Path) -> dict[str, dict]:
    data = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    return {episode["stem"]: episode for episode in data["episodes"]}


def _stamps(out: Path, stems: tuple[str, ...] = GOOD) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for stem in stems for p in sorted((out / stem).iterdir())}


def _without_fingerprints(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("audio", "transcript")}


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith((".tmp", ".partial"))]


@pytest.mark.slow
def test_batch_is_incremental_and_isolates_a_broken_episode(
    tmp_path: Path, season: Path, capsys, monkeypatch
) -> None:
    season = Path(shutil.copytree(season, tmp_path / "in"))  # this test edits a transcript
    out = tmp_path / "out"

    code, stdout, stderr = _batch(capsys, str(season), str(out))

    assert code == 11
    assert "3 done, 0 skipped as up to date, 1 failed, 1 unpaired" in stdout
    assert "ep04: failed:" in stderr and "cannot decode audio" in stderr
    assert "ep05: not an episode: no transcript" in stderr
    assert stderr.strip().splitlines()[-1].startswith("subpipe: error: ")
    first = _manifest(out)
    assert {stem: e["status"] for stem, e in first.items()} == {
        "ep01": "done",
        "ep02": "done",
        "ep03": "done",
        "ep04": "failed",
        "ep05": "unpaired",
    }
    assert first["ep04"]["exit_code"] == 5 and "ep04.mp3" in first["ep04"]["error"]
    for stem in GOOD:
        record = first[stem]
        assert record["cache_hits"] == [] and "transcribe" in record["stage_seconds"]
        assert all((out / name).is_file() for name in record["outputs"])
        assert list(srt.parse((out / stem / f"{stem}.ru-en.srt").read_text(encoding="utf-8")))
        assert record["scores"] is not None and 0.0 <= record["scores"]["wer"] <= 1.0
    assert "ep04,failed" in (out / "summary.csv").read_text(encoding="utf-8")
    stamps = _stamps(out)

    # Up to date: decided from the manifest without decoding audio or loading the model.
    def untouchable(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an up-to-date batch must not decode audio or load the model")

    with monkeypatch.context() as patch:
        patch.setattr(audio, "decode", untouchable)
        patch.setattr(asr, "load", untouchable)
        code, stdout, _ = _batch(capsys, str(season), str(out))
    assert code == 11  # the broken episode still fails; it is not retried with the same inputs
    assert stdout.startswith("batch: nothing to do: 0 done, 3 skipped as up to date, 1 failed (1 not retried")
    assert _stamps(out) == stamps

    # A corrected transcript redoes alignment onward for that episode only, from the cached ASR.
    tsv = season / "ep02.tsv"
    tsv.write_text(tsv.read_text(encoding="utf-8").rstrip("\n") + " (corrected)\n", encoding="utf-8")
    code, stdout, _ = _batch(capsys, str(season), str(out))
    assert code == 11
    assert "1 done, 2 skipped as up to date" in stdout
    third = _manifest(out)
    assert "asr" in third["ep02"]["cache_hits"] and "align" not in third["ep02"]["cache_hits"]
    assert "transcribe" not in third["ep02"]["stage_seconds"] and "align" in third["ep02"]["stage_seconds"]
    assert "(corrected)" in (out / "ep02" / "ep02.en.srt").read_text(encoding="utf-8")
    for stem in ("ep01", "ep03"):
        assert _without_fingerprints(third[stem]) == _without_fingerprints(first[stem])
    assert {k: v for k, v in _stamps(out).items() if "/ep02/" not in k} == {
        k: v for k, v in stamps.items() if "/ep02/" not in k
    }

    # Changed settings redo every episode, from cached ASR and alignment.
    code, stdout, _ = _batch(capsys, str(season), str(out), "--vtt-layout", "stacked")
    assert code == 11 and "3 done, 0 skipped" in stdout
    redone = _manifest(out)
    assert all({"asr", "align"} <= set(redone[stem]["cache_hits"]) for stem in GOOD)
    assert all("transcribe" not in redone[stem]["stage_seconds"] for stem in GOOD)
    assert not _leftovers(out)


# `subpipe` with the code identity pinned: the three runs must be judged by the same code
# even when the source is edited while the test runs (an edit legitimately redoes episodes).
# The test signals the batch as soon as it sees an episode done. Each episode starts a second
# late, so the next cannot finish in the moment between the look and the signal: the clips take
# about a second each, and a clean-clone run once saw two done where the signal meant one.
_PINNED_CLI = (
    "import sys, time, pipeline.batch.plan as plan, pipeline.episode as episode\n"
    "plan.code_digest = lambda: 'pinned'\n"
    "_run = episode.run\n"
    "def _paced(*args, **kwargs):\n"
    "    time.sleep(1.0)\n"
    "    return _run(*args, **kwargs)\n"
    "episode.run = _paced\n"
    "from pipeline.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _start(folder: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _PINNED_CLI, "batch", str(folder), str(out), "--no-progress", "--jobs", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell's background jobs ignore SIGINT, and Python keeps that; Ctrl-C is what we test.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_until_done(proc: subprocess.Popen[bytes], out: Path, count: int, limit: float = 60.0) -> set[str]:
    """Poll the manifest until ``count`` episodes are done; return them."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            done = {stem for stem, e in _manifest(out).items() if e["status"] == "done"}
        except (OSError, ValueError):
            done = set()
        if len(done) >= count:
            return done
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} episodes done after {limit} s")


@pytest.mark.slow
def test_interrupted_and_killed_batches_resume_without_redoing_work(tmp_path: Path, season: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for path in season.iterdir():
        if path.stem in GOOD:
            shutil.copy(path, folder / path.name)

    proc = _start(folder, out)
    after_ctrl_c = _wait_until_done(proc, out, 1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    stopped = _manifest(out)
    assert len(after_ctrl_c) == 1
    assert sum(e["status"] == "done" for e in stopped.values()) == 1
    assert all(e["status"] in ("interrupted", "pending") for s, e in stopped.items() if s not in after_ctrl_c)
    stamps_1 = _stamps(out, tuple(after_ctrl_c))

    proc = _start(folder, out)
    after_kill = _wait_until_done(proc, out, 2)
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert after_ctrl_c < after_kill and len(after_kill) == 2
    stamps_2 = _stamps(out, tuple(after_kill - after_ctrl_c))

    proc = _start(folder, out)
    stdout = proc.communicate(timeout=120)[0].decode()

    assert proc.returncode == 0
    assert "1 done, 2 skipped as up to date, 0 failed" in stdout
    final = _manifest(out)
    assert all(final[stem]["status"] == "done" for stem in GOOD)
    assert len({final[stem]["run"] for stem in GOOD}) == 3  # each finished by a different run, once
    assert _stamps(out, tuple(after_ctrl_c)) == stamps_1
    assert _stamps(out, tuple(after_kill - after_ctrl_c)) == stamps_2
    assert not _leftovers(out)
    for stem in GOOD:
        written = sorted(str(p.relative_to(out)) for p in (out / stem).iterdir())
        assert written == sorted(final[stem]["outputs"])
        json.loads((out / stem / f"{stem}.align.json").read_text(encoding="utf-8"))


def test_second_batch_on_the_same_out_fails_clearly(tmp_path: Path, season: Path, capsys) -> None:
    out = tmp_path / "out"
    with output_lock(out, wait=0, holder="batch"):
        started = time.monotonic()
        code, _, stderr = _batch(capsys, str(season), str(out), "--wait", "0.5")
    assert code == 12
    assert 0.5 <= time.monotonic() - started < 5
    assert stderr.strip() == (
        f"subpipe: error: {out}: another batch (pid {os.getpid()}) is writing here; "
        "wait for it or choose another OUT"
    )
    assert not (out / "batch.json").exists()


def test_episodes_pair_audio_and_transcript_by_stem(tmp_path: Path) -> None:
    for name in (
        "ep01.MP3",
        "ep01.txt",
        "ep02.m4a",
        "ep02.ru-en.tsv",
        "ep03.opus",
        "notes.txt",
        "ep04.wav",
        "ep04.txt",
        "ep04.tsv",
        ".ep05.mp3",
        "cover.jpg",
    ):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "ep06.mkv").mkdir()

    found = {e.stem: e for e in find_episodes(tmp_path)}

    assert sorted(found) == ["ep01", "ep02", "ep03", "ep04", "notes"]
    assert (found["ep01"].audio.name, found["ep01"].transcript.name, found["ep01"].problem) == (
        "ep01.MP3",
        "ep01.txt",
        None,
    )
    assert found["ep02"].transcript.name == "ep02.ru-en.tsv" and found["ep02"].problem is None
    assert found["ep03"].transcript is None and "no transcript" in found["ep03"].problem
    assert found["notes"].audio is None and "no audio" in found["notes"].problem
    assert "ep04.tsv" in found["ep04"].problem and "ep04.txt" in found["ep04"].problem


def test_fingerprint_trusts_an_old_digest_only_for_an_untouched_file(tmp_path: Path) -> None:
    path = tmp_path / "ep.txt"
    path.write_text("Привет\nHello\n", encoding="utf-8")
    fresh = fingerprint(path)
    assert fingerprint(path, fresh).hashed_ns != fresh.hashed_ns  # just written: racy, so re-read

    settled = Fingerprint(fresh.path, fresh.size, fresh.mtime_ns, "remembered", fresh.mtime_ns + 10**10)
    assert fingerprint(path, settled) is settled
    path.write_text("Превед\nHello\n", encoding="utf-8")  # same size, new content and mtime
    os.utime(path, ns=(fresh.mtime_ns, fresh.mtime_ns + 1))
    changed = fingerprint(path, settled)
    assert changed.sha256 not in ("remembered", fresh.sha256)


def test_make_batch_hands_make_jobs_to_one_process() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    # The Makefile's variables can come from the environment (OUT ?= out): start clean.
    ours = {"IN", "OUT", "JOBS", "RAY", "BATCH_ARGS", "MAKEFLAGS"}
    env = {k: v for k, v in os.environ.items() if k not in ours}

    def dry_run(*args: str) -> str:
        done = subprocess.run(
            ["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True, env=env
        )
        return next(" ".join(line.split()) for line in done.stdout.splitlines() if "subpipe batch" in line)

    assert dry_run("batch", "IN=eps", "OUT=res").endswith('subpipe batch "eps" "res"')
    assert dry_run("-j3", "batch", "IN=eps", "OUT=res").endswith('subpipe batch "eps" "res" --jobs 3')
    assert dry_run("batch", "IN=eps", "JOBS=2").endswith('subpipe batch "eps" "out" --jobs 2')
    on_cluster = dry_run("batch", "IN=eps", "RAY=10.0.0.5:6379")
    assert on_cluster.endswith('subpipe batch "eps" "out" --ray 10.0.0.5:6379')
    usage = subprocess.run(["make", "batch"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert usage.returncode == 2 and "usage: make batch IN=" in usage.stderr


@pytest.mark.slow
def test_episode_folder_held_by_a_run_fails_that_episode_only(tmp_path: Path, season: Path, capsys) -> None:

    out = tmp_path / "out"
    (out / "ep02").mkdir(parents=True)
    (out / "ep02" / "ep02.ru-en.srt").write_text("kept\n", encoding="utf-8")

    with output_lock(out / "ep02"):  # as a `subpipe run --out OUT/ep02` would hold it
        code, _, stderr = _batch(capsys, str(season), str(out))

    records = _manifest(out)
    assert code == 11
    assert records["ep02"]["status"] == "failed" and records["ep02"]["exit_code"] == 9
    assert "ep02" in stderr and "another subpipe run" in stderr
    assert (out / "ep02" / "ep02.ru-en.srt").read_text(encoding="utf-8") == "kept\n"
    assert records["ep01"]["status"] == records["ep03"]["status"] == "done"
    assert not _leftovers(out)
