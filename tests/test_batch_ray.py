"""A batch on a real two-node Ray cluster on the loopback address, one of its workers killed mid-episode.

The cluster is Ray's own (``ray.cluster_utils.Cluster``): a head and a second
node, each with one CPU, each its own raylet and worker processes, started
here and torn down after. The batch runs as the CLI in its own process, the
driver, which keeps the manifest and OUT; the workers get the episodes'
bytes and send their files back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.batch.cluster import size_workers
from pipeline.cli import main
from tests.clips import cut_clip
from tests.conftest import ROOT

pytestmark = pytest.mark.alone  # a cluster of its own processes, on an otherwise idle machine

STEMS = ("ep01", "ep02", "ep03", "ep04")
BROKEN = "ep05"
_START_S = 90  # bounded waits: the nodes' start, a batch
_BATCH_S = 300


@pytest.fixture(scope="module")
def ray_season(tmp_path_factory, sample_samples, sample_truth) -> Path:
    """Four short real episodes cut from the sample (two lines each), and a fifth whose audio is not audio."""
    folder = tmp_path_factory.mktemp("ray-season")
    scratch = tmp_path_factory.mktemp("ray-scratch")
    for k, stem in enumerate(STEMS):
        clip_audio, clip_text, _ = cut_clip(sample_samples, sample_truth, 3 * k, 2, scratch)
        clip_audio.rename(folder / f"{stem}.wav")
        clip_text.rename(folder / f"{stem}.txt")
    (folder / f"{BROKEN}.mp3").write_bytes(b"this is not audio at all " * 40)
    shutil.copy(folder / "ep01.txt", folder / f"{BROKEN}.txt")
    return folder


@pytest.fixture(scope="module")
def local_out(tmp_path_factory, ray_season: Path) -> Path:
    """The same season through the local batch, for comparison."""
    out = tmp_path_factory.mktemp("local") / "out"
    assert main(["batch", str(ray_season), str(out), "--no-progress"]) == 11  # the broken one fails
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[object, object, dict[str, str]]]:
    """A head and a second node on 127.0.0.1, one CPU each; yields (cluster, second node, driver env)."""
    # Short: Ray's sockets live under it, and a Unix socket path has ~107 characters at most.
    scratch = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    env = {
        # Ray swaps a loopback address for the machine's own unless told this is no real cluster;
        # with it, every node and the driver stay on 127.0.0.1.
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_TMPDIR": scratch,  # Ray's session files and its "current cluster" note stay here
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the nodes' processes inherit it
    from ray.cluster_utils import Cluster  # only now: Ray reads the first variable as it is imported

    made = None
    try:
        made = Cluster(
            initialize_head=True,
            connect=False,
            head_node_args={"num_cpus": 1, "num_gpus": 0, "include_dashboard": False},
        )
        second = made.add_node(num_cpus=1, num_gpus=0)
        made.wait_for_nodes(timeout=_START_S)
        yield made, second, {**os.environ, **env}
    finally:
        if made is not None:
            made.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(scratch, ignore_errors=True)


def _manifest(out: Path) -> dict[str, dict]:
    try:
        data = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {episode["stem"]: episode for episode in data["episodes"]}


def _files(out: Path, stem: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / stem).iterdir())}


def _stamps(out: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for stem in STEMS for p in sorted((out / stem).iterdir())}


def _workers_of(raylet_pid: int) -> list[int]:
    """The model workers (Ray actors of class EpisodeWorker) that ``raylet_pid`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == raylet_pid and command.startswith(b"ray::EpisodeWorker"):
            found.append(int(entry.name))
    return found


def _batch(season: Path, out: Path, address: str, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pipeline", "batch", str(season), str(out), "--no-progress", *extra]
    return subprocess.Popen(
        [*command, "--ray", address],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background jobs ignore SIGINT, and Python keeps that; Ctrl-C is tested here.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.slow
def test_ray_batch_survives_a_killed_worker_and_matches_the_local_batch(
    tmp_path: Path, ray_season: Path, local_out: Path, cluster
) -> None:
    made, second, env = cluster
    second_id = second.node_id[:8]
    local, out = local_out, tmp_path / "ray"

    proc = _batch(ray_season, out, made.address, env)
    try:
        # Wait for an episode to run on the second node, then kill that node's model worker.
        deadline, killed_stem, killed = time.monotonic() + _BATCH_S, None, []
        while killed_stem is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            records = _manifest(out).items()
            on_second = [s for s, e in records if e["status"] == "running" and second_id in (e["node"] or "")]
            running = [stem for stem in on_second if stem in STEMS]
            if running:
                time.sleep(0.5)  # into the episode
                killed = _workers_of(second.all_processes["raylet"][0].process.pid)
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
                killed_stem = running[0]
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=_BATCH_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert killed_stem is not None and len(killed) == 1, "no episode ran on the second node"
    assert proc.returncode == 11, stderr  # the broken episode fails alone, as in the local batch
    assert "batch: 4 done, 0 skipped as up to date, 1 failed" in stdout
    done_lines = [line for line in stdout.splitlines() if ": done on " in line]
    assert sorted(line.split(":")[0] for line in done_lines) == list(STEMS)  # each once
    assert f"{killed_stem}: the Ray worker on " in stderr and "running it again elsewhere" in stderr
    records = _manifest(out)
    assert all(records[stem]["status"] == "done" for stem in STEMS)
    broken = records[BROKEN]
    assert broken["status"] == "failed" and broken["exit_code"] == 5
    assert broken["error"] == _manifest(local)[BROKEN]["error"]  # the driver's file, not a worker's copy
    assert f"{BROKEN}: failed on " in stderr and str(ray_season / f"{BROKEN}.mp3") in stderr
    assert all(records[stem]["node"].startswith("127.0.0.1/") for stem in STEMS)  # loopback only
    assert records[killed_stem]["attempts"] == 2 and second_id not in records[killed_stem]["node"]
    assert all(records[stem]["attempts"] == 1 for stem in STEMS if stem != killed_stem)
    for stem in STEMS:
        assert sorted(records[stem]["outputs"]) == sorted(f"{stem}/{name}" for name in _files(out, stem))
        assert _files(out, stem) == _files(local, stem), f"{stem}: outputs differ from the local batch"
    cached = {str(p.relative_to(out)) for p in (out / ".subpipe-cache").rglob("*.json")}
    assert cached == {str(p.relative_to(local)) for p in (local / ".subpipe-cache").rglob("*.json")}
    assert not [p for p in out.rglob("*") if p.name.endswith((".tmp", ".partial"))]

    # A second run redoes nothing.
    stamps = _stamps(out)
    again = _batch(ray_season, out, made.address, env)
    stdout, stderr = again.communicate(timeout=_BATCH_S)
    assert again.returncode == 11, stderr
    assert stdout.startswith("batch: nothing to do: 0 done, 4 skipped as up to date, 1 failed (1 not retried")
    assert _stamps(out) == stamps

    # The stage cache works through the cluster: a corrected transcript reuses the ASR words.
    text = ray_season / f"{killed_stem}.txt"
    original = text.read_text(encoding="utf-8")
    try:
        text.write_text(original.rstrip("\n") + " (corrected)\n", encoding="utf-8")
        third = _batch(ray_season, out, made.address, env)
        stdout, stderr = third.communicate(timeout=_BATCH_S)
    finally:
        text.write_text(original, encoding="utf-8")
    assert third.returncode == 11, stderr
    assert "1 done, 3 skipped as up to date" in stdout
    record = _manifest(out)[killed_stem]
    assert "asr" in record["cache_hits"] and "transcribe" not in record["stage_seconds"]
    assert "(corrected)" in (out / killed_stem / f"{killed_stem}.en.srt").read_text(encoding="utf-8")


@pytest.mark.slow
def test_ctrl_c_stops_the_cluster_work_and_leaves_a_shared_out_consistent(
    tmp_path: Path, ray_season: Path, local_out: Path, cluster
) -> None:
    made, second, env = cluster
    raylets = [node.all_processes["raylet"][0].process.pid for node in (made.head_node, second)]
    out = tmp_path / "shared"  # every node sees it: --shared-out, workers write here themselves
    proc = _batch(ray_season, out, made.address, env, "--shared-out")
    try:
        deadline = time.monotonic() + _BATCH_S
        while not any(e["status"] == "done" for e in _manifest(out).values()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "subpipe: batch interrupted; run it again to resume"
    stopped = _manifest(out)
    finished = {stem for stem in STEMS if stopped[stem]["status"] == "done"}
    assert finished and finished != set(STEMS)
    assert {e["status"] for e in stopped.values()} <= {"done", "failed", "interrupted", "pending"}
    for stem in finished:
        assert _files(out, stem) == _files(local_out, stem)
    deadline = time.monotonic() + 30  # the cluster's model workers are ended, not left running
    while any(_workers_of(pid) for pid in raylets) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_workers_of(pid) for pid in raylets)

    # A re-run does the rest, and only the rest.
    again = _batch(ray_season, out, made.address, env, "--shared-out")
    stdout, stderr = again.communicate(timeout=_BATCH_S)
    assert again.returncode == 11, stderr
    assert f"{len(STEMS) - len(finished)} done, {len(finished)} skipped as up to date, 1 failed" in stdout
    for stem in STEMS:
        assert _files(out, stem) == _files(local_out, stem), f"{stem}: outputs differ from the local batch"
    assert not [p for p in out.rglob("*") if p.name.endswith((".tmp", ".partial"))]


@pytest.mark.slow
def test_workers_without_the_model_end_the_batch_as_locally(tmp_path: Path, ray_season: Path, cluster):
    made, _, env = cluster
    missing = tmp_path / "no-such-model"
    proc = _batch(ray_season, tmp_path / "out", made.address, env, "--model", str(missing))
    _, stderr = proc.communicate(timeout=_BATCH_S)

    assert proc.returncode == 6, stderr  # a missing model, as a local batch says it
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"subpipe: error: {missing}: model folder not found")
    assert "(on 127.0.0.1/" in last
    assert {e["status"] for e in _manifest(tmp_path / "out").values()} == {"pending"}  # none begun


def test_workers_are_sized_from_the_nodes() -> None:
    def node(node_id: str, cpus: float, gpus: float = 0, alive: bool = True) -> dict:
        return {"NodeID": node_id, "Alive": alive, "Resources": {"CPU": cpus, "GPU": gpus}}

    nodes = [node("a", 16), node("b", 6), node("c", 1), node("d", 0), node("e", 8, alive=False)]
    sized = [(s.node_id, s.cpus, s.gpus) for s in size_workers(nodes, "cpu", 4)]
    assert sized == [("a", 4, 0)] * 4 + [("b", 6, 0), ("c", 1, 0)]
    gpu_nodes = [node("g", 32, 4), node("h", 0, 1), node("c", 8)]
    sized = [(s.node_id, s.cpus, s.gpus) for s in size_workers(gpu_nodes, "cuda", 4)]
    assert sized == [("g", 8, 1)] * 4 + [("h", 0, 1)]


def test_cluster_options_need_ray_and_an_address(tmp_path: Path, capsys) -> None:
    for argv, line in [
        (["--shared-out"], "--shared-out and --ray-cpus need --ray ADDRESS"),
        (["--ray", "auto", "--ray-cpus", "0"], "argument --ray-cpus: 0 is less than 1; give 1 or more"),
    ]:
        with pytest.raises(SystemExit) as usage:  # argparse's usage error, as for every option
            main(["batch", "in", "out", *argv])
        assert usage.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == f"subpipe batch: error: {line}"
    # Nothing listens there: one line, at once, not Ray's minutes of retries.
    started = time.monotonic()
    assert main(["batch", str(ROOT / "audio_samples"), str(tmp_path / "out"), "--ray", "127.0.0.1:9"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("subpipe: error: cannot reach the Ray cluster at 127.0.0.1:9") and "\n" not in err
    assert time.monotonic() - started < 10 and not (tmp_path / "out").exists()
