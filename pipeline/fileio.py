"""Atomic file output: a reader sees the old file or the complete new one, never a half.

Beyond single files, an output folder gets two more guarantees:

* inside :func:`staged`, files written into the folder are held back until
  the block succeeds and then put in place together, so a run that fails or
  is interrupted part-way leaves every earlier output as it was;
* :func:`output_lock` keeps a second run or batch from writing there at the same time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import BatchLocked, InputNotFound, OutputError, SubpipeError

LOCK_NAME = ".subpipe.lock"
# Filesystems without flock (some network mounts) answer with these; a lock
# that cannot be taken there should not stop every run.
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL)


def check_input(
    path: Path, what: str, error: type[SubpipeError], max_bytes: int | None = None
) -> os.stat_result:
    """The ``stat`` of an input file, or the error a person can act on: missing, a folder, too large.

    ``what`` names the file for the messages ("audio file", "transcript",
    "subtitle file"); ``error`` is the class of the file's own problems (its
    exit code). A FIFO or device is refused too: reading one could block
    forever, and the stage cache reads inputs twice.
    """
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        raise InputNotFound(path, f"{what} not found; check the path") from None
    except OSError as exc:
        raise error(path, f"cannot be read ({exc.strerror or exc}); check the file's permissions") from exc
    if stat.S_ISDIR(info.st_mode):
        raise error(path, f"is a folder, not a file; give the {what}")
    if not stat.S_ISREG(info.st_mode):
        raise error(path, f"is not a regular file; give the {what}")
    if max_bytes is not None and info.st_size > max_bytes:
        raise error(
            path,
            f"is {info.st_size / 1024 / 1024:.0f} MB, more than any {what} "
            f"({max_bytes // 1024 // 1024} MB limit); check that this is the right file",
        )
    return info


def scratch_folder(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder named ``<prefix><pid>-…``, after removing those of dead processes.

    A process killed with SIGKILL (a lost Ray worker, the OOM killer) never
    runs its cleanup; its pid in the name tells its folders from a live one's.
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        owner = folder.name[len(prefix) :].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename over ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(path.parent, _describe(exc)) from exc
    try:
        with os.fdopen(fd, "wb") as handle:  # closes the descriptor whatever happens next
            os.fchmod(handle.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        stage = _STAGE.get()
        if stage is not None and path.parent.resolve() == stage.folder:
            stage.hold(path, tmp_name)
            return
        os.replace(tmp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise OutputError(path, _describe(exc)) from exc
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _describe(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the device; earlier outputs were kept; free some space and run again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "cannot write here (permission denied or read-only); choose another output folder"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "is not a folder (a file is in the way); choose another output folder"
    return f"cannot write: {exc.strerror or exc}"


# ---------------------------------------------------------------- staging


@dataclass
class _Stage:
    folder: Path  # resolved
    pending: dict[Path, str] = field(default_factory=dict)  # target -> its finished temp file

    def hold(self, target: Path, tmp_name: str) -> None:
        older = self.pending.pop(target, None)
        if older is not None:
            with contextlib.suppress(OSError):
                os.unlink(older)
        self.pending[target] = tmp_name

    def discard(self) -> None:
        for tmp_name in self.pending.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        self.pending.clear()

    def commit(self) -> None:
        target = self.folder
        try:
            with _signals_held():
                for target, tmp_name in list(self.pending.items()):
                    os.replace(tmp_name, target)
                    del self.pending[target]
        except OSError as exc:
            self.discard()
            raise OutputError(target, _describe(exc)) from exc
        _fsync_dir(self.folder)


# Per thread (and asyncio task): batch episodes in other threads never see a stage.
_STAGE: ContextVar[_Stage | None] = ContextVar("subpipe_stage", default=None)


@contextlib.contextmanager
def staged(folder: Path) -> Iterator[None]:
    """Hold back files written straight into ``folder`` until the block succeeds, then put them in place.

    A run that fails or is interrupted part-way thus replaces none of the
    earlier outputs, and the folder never holds a mix of two runs' files.
    Files in subfolders (the stage cache) are written at once, so a re-run
    finds the stages that were finished.
    """
    stage = _Stage(Path(folder).resolve())
    token = _STAGE.set(stage)
    try:
        yield
    except BaseException:
        stage.discard()
        raise
    finally:
        _STAGE.reset(token)
    stage.commit()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer Ctrl-C and SIGTERM while files are renamed, so the set is never left half replaced."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        # A signal that came meanwhile is delivered now, after the last rename.
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _fsync_dir(folder: Path) -> None:
    """Make the renames durable; not every filesystem can sync a directory, which costs nothing here."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- locking


@contextlib.contextmanager
def output_lock(folder: Path, wait: float = 5.0, holder: str = "run") -> Iterator[None]:
    """Hold ``folder`` for one run or batch; another waits up to ``wait`` seconds, then fails.

    One lock for every writer of a folder: a ``subpipe run --out OUT`` and a
    batch into ``OUT`` exclude each other. ``holder`` ("run" or "batch") is
    written into the lock file so that the one kept waiting is told who holds
    it; a batch kept out fails with ``BatchLocked`` (exit 12), a run with
    ``OutputError`` (exit 9).

    ``flock`` is released by the kernel when the holder dies, so a killed run
    never leaves the folder locked. Taking the lock also proves the folder
    writable, before any slow work is done. A run that writes nothing leaves
    no trace: the lock file goes, and so does the folder if the lock made it.
    """
    folder = Path(folder)
    made = not folder.exists()
    lock_path = folder / LOCK_NAME
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(folder, _describe(exc)) from exc
        try:
            _flock(fd, folder, deadline, holder)
            # The run before may have removed the file as it let go: then this
            # lock is on a file nobody else will open, and counts for nothing.
            if _same_file(fd, lock_path):
                break
        except BaseException:
            os.close(fd)  # interrupted while waiting: the lock file is the holder's
            raise
        os.close(fd)
    try:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {holder}\n".encode("ascii"), 0)
        sweep_temp_files([folder])  # the folder is ours: temp files in it are a killed run's
        _check_writable(folder)
        yield
    finally:
        # Removed while still held, so no other run can lock it in between.
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        os.close(fd)
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if the run wrote nothing in it


def sweep_temp_files(folders: Iterable[Path]) -> list[Path]:
    """Delete the temp files a killed writer left in ``folders`` (call only while holding their lock).

    Atomic writes put ``.<name>.<random>.tmp`` beside the target and rename it;
    a process killed between the two leaves the temp file, never a half output.
    """
    removed = []
    for folder in folders:
        for path in Path(folder).glob(".*.tmp") if Path(folder).is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def _flock(fd: int, folder: Path, deadline: float, holder: str) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _busy(folder, os.pread(fd, 64, 0).decode("ascii", "replace").split(), holder) from None
            time.sleep(0.1)
        except OSError as exc:
            if exc.errno in _NO_FLOCK:
                return
            raise OutputError(folder, f"cannot lock the output folder: {exc.strerror or exc}") from exc


def _busy(folder: Path, owner: list[str], waiting: str) -> OutputError | BatchLocked:
    """The error for ``waiting`` ("run" or "batch"), kept out by the lock file's ``owner`` (pid, kind)."""
    pid = owner[0] if owner else "unknown"
    kind = owner[1] if len(owner) > 1 else "run"
    if waiting == "batch":
        other = "another batch" if kind == "batch" else "a subpipe run"
        return BatchLocked(folder, f"{other} (pid {pid}) is writing here; wait for it or choose another OUT")
    other = "a subpipe batch" if kind == "batch" else "another subpipe run"
    return OutputError(
        folder, f"is in use by {other} (pid {pid}); wait for it to finish or choose another output folder"
    )


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _check_writable(folder: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".subpipe-probe.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(folder, _describe(exc)) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
