"""A batch on a Ray cluster: connecting, and how many model workers each node gets.

Ray is an optional extra (``pip install 'subpipe[ray]'``) and is imported only
here and in :mod:`pipeline.batch.dispatch`, only for ``subpipe batch --ray``.
Every node needs the same subpipe installed (and the model: the bundled one,
or a ``--model`` folder at the same path, or a name each node can download);
a worker running other code is refused, as its outputs would not match what
the manifest says made them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pipeline import episode
from pipeline.errors import SubpipeError

LOCAL, AUTO = "local", "auto"
# One model per this many CPU cores by default. On 2 cores one model with two
# single-threaded workers was fastest (pipeline/whisper/engine.py); four cores
# per model keeps a model's memory (~1 GB at peak with base) per few cores.
CPUS_PER_WORKER = 4
_CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RayOptions:
    """``--ray`` and its companions."""

    address: str  # "local" (start Ray on this machine), "auto" (the running cluster) or "host:port"
    cpus_per_worker: int = CPUS_PER_WORKER
    shared_out: bool = False  # OUT is at the same path on every node: workers write there themselves


@dataclass(frozen=True)
class WorkerSpec:
    """One model worker: the node it is placed on and the resources it holds there."""

    node_id: str
    cpus: int
    gpus: int = 0


def size_workers(nodes: Sequence[Mapping[str, Any]], device: str, cpus_per_worker: int) -> list[WorkerSpec]:
    """One worker per GPU (with its share of the node's cores), or per ``cpus_per_worker`` cores.

    ``nodes`` are ``ray.nodes()`` entries. A CPU node with fewer cores than a
    group gets one worker with all of them; a node's cores that do not make a
    whole group go to its workers evenly (6 cores, groups of 4: one worker of 6).
    """
    specs = []
    for node in nodes:
        if not node.get("Alive", False):
            continue
        resources = node.get("Resources", {})
        cpus, gpus = int(resources.get("CPU", 0)), int(resources.get("GPU", 0))
        if device == "cuda":
            specs += [WorkerSpec(node["NodeID"], cpus // gpus, 1) for _ in range(gpus)]
        elif cpus >= 1:
            count = max(1, cpus // max(1, cpus_per_worker))
            specs += [WorkerSpec(node["NodeID"], cpus // count) for _ in range(count)]
    return specs


def connect(options: RayOptions) -> Any:
    """Join the cluster (or start one on this machine); one clear error when it cannot be reached."""
    try:
        import ray
    except ImportError:
        raise SubpipeError(None, "--ray needs Ray: pip install 'subpipe[ray]'") from None
    address = options.address
    if address not in (LOCAL, AUTO):
        _check_reachable(address)
    # A batch asks Ray for no usage statistics unless the user has said otherwise.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import logging

    try:
        ray.init(
            address=None if address == LOCAL else address,
            include_dashboard=False if address == LOCAL else None,
            log_to_driver=False,  # the workers' own logs stay in Ray's log folder
            logging_level=logging.ERROR,  # Ray's notes on its own setup are not the batch's news
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        hint = "start one with `ray start --head`, or use --ray local" if address == AUTO else "check --ray"
        raise SubpipeError(None, f"cannot join the Ray cluster at {address} ({first}); {hint}") from exc
    return ray


def _check_reachable(address: str) -> None:
    """Fail in seconds, not Ray's minutes of retries, when nothing listens at ``host:port``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SubpipeError(None, f"--ray {address}: expected auto, local or HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise SubpipeError(
            None,
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); "
            "is `ray start --head` running there?",
        ) from exc


def cluster_device(nodes: Sequence[Mapping[str, Any]], requested: str) -> str:
    """The device the workers run on: a GPU when asked for or, with ``auto``, when the cluster has one."""
    gpus = sum(int(n.get("Resources", {}).get("GPU", 0)) for n in nodes if n.get("Alive", False))
    if requested == "cuda" and not gpus:
        raise SubpipeError(None, "--device cuda, but the Ray cluster has no GPU")
    if requested == "auto":
        return "cuda" if gpus else "cpu"
    return requested


def last_device(settings: episode.Settings, meta: Mapping[str, Any]) -> episode.Settings:
    """``--device auto`` as the last batch into this OUT resolved it on its cluster.

    A batch plans with it before joining the cluster, so one with nothing to
    do never starts or joins Ray; one with work joins and plans again if the
    cluster's device turns out otherwise.
    """
    last = meta.get("settings", {}).get("device")
    if settings.device == "auto" and last in ("cpu", "cuda"):
        return replace(settings, device=last)
    return settings


def resolve_settings(settings: episode.Settings, nodes: Sequence[Mapping[str, Any]]) -> episode.Settings:
    """The settings with the cluster's device, so the manifest and stage cache name what the workers run."""
    return replace(settings, device=cluster_device(nodes, settings.device))
