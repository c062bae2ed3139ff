"""Ctrl-C and SIGTERM: the run stops within a second, whatever library is running, and OUT stays as it was.

The CLI installs :func:`handling`. A signal then does three things:

* its handler raises ``KeyboardInterrupt`` in the main thread, so the run
  unwinds: staged outputs are discarded, the output lock released;
* it is remembered, so loops that call a library which swallows exceptions
  raised inside it (PyAV's resampler loses about half of them) can
  :func:`check` between calls;
* a watcher thread, woken by the signal through ``signal.set_wakeup_fd``,
  gives the unwinding ``GRACE`` seconds (or what a block asks for with
  :func:`grace`); a main thread still busy then (inside
  a long CTranslate2 call, joining worker threads) is not waited for: the
  watcher runs the registered cleanups (:func:`on_abandon`) and ends the
  process itself.

Renames that must happen all or not at all run inside :func:`critical`:
neither the handler nor the watcher breaks into one.

SIGTERM ends with 143 and SIGINT with 130 (128 + the signal's number), the
codes a shell reports for a process the signal killed, so a scheduler sees
the same code whether the signal came before subpipe set its handler or after.
A shell script's background job (``subpipe run ... &``) starts with SIGINT
ignored, as the shell asks; it stays ignored, and SIGTERM stops such a run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143
# What the unwinding gets before the watcher ends the process: it removes a
# few temp files and releases a lock, milliseconds; joining a model worker in
# the middle of a batch can take seconds, which the signal should not wait for.
GRACE = 0.25

_received: int | None = None  # the first signal of this run
_active = False  # handling() is on: check() and the handler act only then
_raised = False  # KeyboardInterrupt raised for it already: a second Ctrl-C must not break the cleanup
_deferred = 0  # depth of critical() in the main thread
_critical = threading.RLock()
_claim = threading.Lock()  # whoever takes it reports the interruption and ends the run (one per run)
_cleanups: dict[int, Callable[[], None]] = {}
_ids = itertools.count()
_patience: list[float] = []  # longer graces asked for by the blocks open now (see grace())


def received() -> int | None:
    """The signal that interrupted this run, or None."""
    return _received


def exit_code() -> int:
    """130 for Ctrl-C (and a ``KeyboardInterrupt`` no signal raised), 143 for SIGTERM."""
    return EXIT_SIGTERM if _received == signal.SIGTERM else EXIT_SIGINT


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a signal came; for loops over a library that may swallow one."""
    # Raised again even if the handler raised it once: that one may be what was swallowed.
    main = threading.current_thread() is threading.main_thread()
    if _active and _received is not None and not _deferred and main:
        _interrupt()


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A stretch no signal breaks into (a set of renames): the interruption waits for its end."""
    global _deferred
    main = threading.current_thread() is threading.main_thread()
    with _critical:
        _deferred += main
        try:
            yield
        finally:
            _deferred -= main
    if main and not _deferred and _received is not None and not _raised:
        _interrupt()


@contextlib.contextmanager
def on_abandon(cleanup: Callable[[], None]) -> Iterator[None]:
    """Have the watcher run ``cleanup`` if it ends the process while this block runs.

    ``cleanup`` runs in the watcher's thread while the block's own thread may
    still be going, so it must only do what is safe twice (unlink with
    ``missing_ok``): the block's own unwinding may do the same at the same time.
    """
    token = next(_ids)
    _cleanups[token] = cleanup
    try:
        yield
    finally:
        _cleanups.pop(token, None)


@contextlib.contextmanager
def grace(seconds: float) -> Iterator[None]:
    """Give the run ``seconds`` after a signal, instead of ``GRACE``, while this block is open.

    For work that must be told to stop rather than dropped: a Ray batch asks
    the cluster's workers to stop where no file is half written (up to 5 s).
    """
    _patience.append(seconds)
    try:
        yield
    finally:
        _patience.remove(seconds)


def _grace() -> float:
    return max([GRACE, *_patience])


def claim() -> bool:
    """Take the right to report the interruption and end the run; False if the watcher already has it."""
    return _claim.acquire(blocking=False)


def end(message: str) -> None:
    """Report the interruption and end the process now, threads and all, with its exit code.

    For a caller whose threads may still be writing (a batch's episodes): a
    set of renames under way is finished first, none starts after, and the
    blocks still open are cleaned up (staged files discarded, locks released).
    """
    if not claim():
        threading.Event().wait()  # the watcher is ending the process
    _abandon(message)


def _abandon(message: str) -> None:
    """Run the cleanups of the blocks still open, print ``message`` and end the process."""
    with _critical:  # a set of renames under way is finished first; none starts after
        for cleanup in list(_cleanups.values()):
            with contextlib.suppress(Exception):
                cleanup()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            print(message, file=sys.stderr, flush=True)
        os._exit(exit_code())


def _interrupt() -> None:
    global _raised
    _raised = True
    raise KeyboardInterrupt


def _handler(signum: int, frame: object) -> None:
    global _received
    if _received is None:
        _received = signum
    if not _deferred and not _raised:
        _interrupt()


class _Watcher(threading.Thread):
    """Ends the process ``GRACE`` seconds after a signal if the main thread has not."""

    def __init__(self, reader: socket.socket, message: str) -> None:
        super().__init__(name="subpipe-signals", daemon=True)
        self._reader, self._message = reader, message
        self.stop = threading.Event()

    def run(self) -> None:
        # Python writes the number of each signal it handles; only these two stop a run.
        woken = b""
        while not set(woken) & {int(signal.SIGINT), int(signal.SIGTERM)}:
            try:
                woken = self._reader.recv(16)
            except OSError:
                return
            if not woken:  # closed: the run is over
                return
        woken_at = time.monotonic()
        while time.monotonic() - woken_at < _grace():  # a block may ask for longer meanwhile
            if self.stop.wait(0.05):
                return
        if not claim():
            return
        _abandon(self._message)


@contextlib.contextmanager
def handling(message: str) -> Iterator[None]:
    """SIGINT and SIGTERM stop the block within a second; ``message`` is the line the watcher prints.

    Signal handlers can only be set from the main thread; elsewhere the block
    runs as it is.
    """
    global _received, _raised, _claim, _active
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received, _raised, _claim, _active = None, False, threading.Lock(), True
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    watcher = _Watcher(reader, message)
    previous = {}
    try:
        old_wakeup = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, _handler)
        watcher.start()
        yield
    finally:
        _active = False  # the code the block returns to does not check for this run's signal
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(old_wakeup)
        watcher.stop.set()
        writer.close()  # wakes the watcher, which finds the stop set
        watcher.join(timeout=1)
        reader.close()
