"""Atomic files and cross-process locks, shared by every kind of anonymizer.

A fitted model or an anonymized table is never written in place: it is saved
into a fresh temporary directory beside the target (same file system, same
file name, so suffix-sensitive savers such as Keras are satisfied) and renamed
over the target. A crash or kill during a save leaves the previous version
intact, and a reader never sees a half-written file. A save may be read back
before it replaces anything, and what a killed save left behind is removed
(or, for a directory caught between its two renames, put back) at the next
start.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from .errors import BusyError, LockUnavailableError, VerificationError

__all__ = [
    "ExclusiveLock",
    "LockHeldError",
    "ensure_writable_folder",
    "remove_stale_staging",
    "save_atomically",
]

_STAGING_SUFFIX = ".staging"

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
        LockUnavailableError
            If the lock file cannot be created (nobody holds it).
        """
        if not self._thread_lock.acquire(blocking=False):
            raise BusyError("held by another thread of this process")
        try:
            file_lock = self._file_lock()
            self._check_creatable()
            file_lock.acquire()
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

    def _check_creatable(self) -> None:
        # filelock retries until its timeout when it cannot open the file,
        # which would read as "held by another process".
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LockUnavailableError(
                f"cannot create the lock file {self.path}: {exc.strerror}"
            ) from exc
        os.close(fd)

    def _file_lock(self) -> filelock.FileLock:
        pid = os.getpid()
        if self._file_lock_and_pid is None or self._file_lock_and_pid[1] != pid:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LockUnavailableError(
                    f"cannot create the lock file's directory {self.path.parent}: "
                    f"{exc.strerror}"
                ) from exc
            # timeout=0: refuse at once rather than queue behind the holder.
            lock = filelock.FileLock(self.path, timeout=0, thread_local=False)
            self._file_lock_and_pid = (lock, pid)
        return self._file_lock_and_pid[0]


def ensure_writable_folder(filepath: str | Path, what: str = "the file") -> None:
    """Check that this process can create and replace ``filepath``.

    Its folder must be writable, or, where the folder does not exist yet, the
    nearest one above it, in which it will be created. Call it at start, so
    that a server whose volume is not writable stops at once rather than
    failing its first ``/fit``.

    Parameters
    ----------
    filepath : str | pathlib.Path
        The file (or directory) that :func:`save_atomically` will save.
    what : str, optional
        What it is, for the message (``"the model file"``).

    Raises
    ------
    PermissionError
        If the folder is not writable by this process's uid (or lies on a
        read-only file system); the message names the folder, the uid and
        what to do.

    Examples
    --------
    >>> import tempfile
    >>> ensure_writable_folder(Path(tempfile.mkdtemp()) / "new" / "model.pkl")
    """
    folder = Path(filepath).absolute().parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return  # creating the folder fails with its own message
    effective = os.access in os.supports_effective_ids
    if os.access(existing, os.W_OK | os.X_OK, effective_ids=effective):
        return
    uid = os.geteuid() if hasattr(os, "geteuid") else "?"
    where = "" if existing == folder else f" ({existing}, where it would be created)"
    try:
        owner = existing.stat().st_uid
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        owner, read_only = "?", False
    why = "it is on a read-only file system" if read_only else f"owner uid {owner}"
    raise PermissionError(
        f"{what}'s folder {folder}{where} is not writable by uid {uid} ({why}): "
        f"make it writable for uid {uid} (e.g. chown {uid} {existing}; a Docker "
        "named volume takes the image's ownership of the folder, a mounted host "
        "folder keeps its own) or choose another folder (the scaffolds: "
        "ANOMED_PERSISTENT_DATA)"
    )


def save_atomically(
    save: Callable[[Path], None],
    filepath: str | Path,
    verify: Callable[[Path], object] | None = None,
) -> None:
    """Call ``save(temporary_path)`` and move the result to ``filepath`` at once.

    Parameters
    ----------
    save : Callable[[pathlib.Path], None]
        Writes a file (or a directory) at the path it is given.
    filepath : str | pathlib.Path
        The final location.
    verify : Callable[[pathlib.Path], object] | None, optional
        Reads the staged result back before it replaces ``filepath``; if it
        raises, the previous version stays.

    Raises
    ------
    RuntimeError
        If ``save`` returned without writing anything.
    VerificationError
        If ``verify`` raised; ``filepath`` is then untouched.
    Exception
        Whatever ``save`` raised; ``filepath`` is then untouched.
    """
    target = Path(filepath)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The pid in the name tells the next start whose leftovers these are.
    staging = Path(
        tempfile.mkdtemp(
            prefix=f".{target.name}.{os.getpid()}-",
            suffix=_STAGING_SUFFIX,
            dir=target.parent,
        )
    )
    try:
        staged = staging / target.name
        save(staged)
        if not staged.exists():
            raise RuntimeError(
                f"save() returned without writing anything at {staged}; it must "
                "write to the path it is given"
            )
        if verify is not None:
            _verified(verify, staged, target)
        if staged.is_dir():
            _replace_directory(staged, target)
        else:
            _fsync(staged)
            os.replace(staged, target)
        _fsync_directory(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _verified(verify: Callable[[Path], object], staged: Path, target: Path) -> None:
    try:
        verify(staged)
    except Exception as exc:
        raise VerificationError(
            f"what was saved for {target} cannot be read back "
            f"({type(exc).__name__}: {exc}); the previous version is kept"
        ) from exc


def remove_stale_staging(filepath: str | Path) -> int:
    """Remove what killed saves of ``filepath`` left behind.

    Staging and retired directories carry the id of the process that made
    them; those of processes that no longer run are removed, except that a
    retired directory whose target is missing (a kill between the two
    renames of a directory replace) is moved back into place.

    Parameters
    ----------
    filepath : str | pathlib.Path
        The file (or directory) that :func:`save_atomically` saves.

    Returns
    -------
    int
        How many directories were removed or restored.
    """
    target = Path(filepath)
    if not target.parent.is_dir():
        return 0
    cleaned = 0
    for path in sorted(target.parent.glob(f".{glob.escape(target.name)}.*")):
        match = _LEFTOVER.fullmatch(path.name[len(target.name) + 2 :])
        if not path.is_dir() or match is None or _alive(int(match["pid"])):
            continue
        if match["kind"] == "retired" and not target.exists():
            os.replace(path, target)
        else:
            shutil.rmtree(path, ignore_errors=True)
        cleaned += 1
    return cleaned


_LEFTOVER = re.compile(r"(?P<pid>\d+)-(?:[^.]*\.staging|(?P<kind>retired))")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _replace_directory(staged: Path, target: Path) -> None:
    # Directories cannot be swapped in one rename: move the old one aside
    # first, so that at every instant one complete version exists on disk.
    if target.exists():
        retired = target.with_name(f".{target.name}.{os.getpid()}-retired")
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
