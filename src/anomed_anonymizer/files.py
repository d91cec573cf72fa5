"""Atomic files and cross-process locks, shared by every kind of anonymizer.

A fitted model or an anonymized table is never written in place: it is saved
into a fresh temporary directory beside the target (same file system, same
file name, so suffix-sensitive savers such as Keras are satisfied) and renamed
over the target. A crash or kill during a save leaves the previous version
intact, and a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from .errors import BusyError

__all__ = ["ExclusiveLock", "LockHeldError", "save_atomically"]

# This module's old names for classes of the error vocabulary.
LockHeldError = BusyError


class ExclusiveLock:
    """A non-blocking lock across the threads and processes of one server.

    Parameters
    ----------
    path : str | pathlib.Path
        The lock file (created on first use).

    Notes
    -----
    A lock object must not cross a fork (gunicorn may import the app in its
    master before forking workers), so each process makes its own file lock.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._thread_lock = threading.Lock()
        self._file_lock_and_pid: tuple[filelock.FileLock, int] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise at once.

        Raises
        ------
        BusyError
            If another thread or process holds it.
        """
        if not self._thread_lock.acquire(blocking=False):
            raise BusyError("held by another thread of this process")
        try:
            self._file_lock().acquire()
        except filelock.Timeout as exc:
            self._thread_lock.release()
            raise BusyError("held by another worker process") from exc
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        """Give the lock back (only the holder may)."""
        try:
            self._file_lock().release()
        finally:
            self._thread_lock.release()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block.

        Only taking the lock raises :class:`~anomed_anonymizer.errors.BusyError`;
        whatever the block raises passes through unchanged.
        """
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def _file_lock(self) -> filelock.FileLock:
        pid = os.getpid()
        if self._file_lock_and_pid is None or self._file_lock_and_pid[1] != pid:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # timeout=0: refuse at once rather than queue behind the holder.
            lock = filelock.FileLock(self.path, timeout=0, thread_local=False)
            self._file_lock_and_pid = (lock, pid)
        return self._file_lock_and_pid[0]


def save_atomically(save: Callable[[Path], None], filepath: str | Path) -> None:
    """Call ``save(temporary_path)`` and move the result to ``filepath`` at once.

    Parameters
    ----------
    save : Callable[[pathlib.Path], None]
        Writes a file (or a directory) at the path it is given.
    filepath : str | pathlib.Path
        The final location.

    Raises
    ------
    RuntimeError
        If ``save`` returned without writing anything.
    Exception
        Whatever ``save`` raised; ``filepath`` is then untouched.
    """
    target = Path(filepath)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        staged = staging / target.name
        save(staged)
        if not staged.exists():
            raise RuntimeError(
                f"save() returned without writing anything at {staged}; it must "
                "write to the path it is given"
            )
        if staged.is_dir():
            _replace_directory(staged, target)
        else:
            _fsync(staged)
            os.replace(staged, target)
        _fsync_directory(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_directory(staged: Path, target: Path) -> None:
    # Directories cannot be swapped in one rename: move the old one aside
    # first, so that at every instant one complete version exists on disk.
    if target.exists():
        retired = target.with_name(f".{target.name}.retired-{os.getpid()}")
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
        os.replace(staged, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staged, target)


def _fsync(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _fsync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
