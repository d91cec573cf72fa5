"""One file, one writer at a time, many readers, across the worker processes
of one server.

Both servers keep their state this way: the supervised server its fitted
model, the tabular server its release (table, scheme and report). A writer
holds a non-blocking lock next to the file, so a second writer is refused at
once, whichever worker process it runs in; the file is replaced atomically
(:func:`~anomed_anonymizer.files.save_atomically`), and only after it has been
read back as a reader will read it; every process reloads it when it changes.
What killed writers left behind is removed when a store is made (at each
worker's start).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

from .errors import BusyError, ConflictError, NotReadyError
from .files import (
    ExclusiveLock,
    ensure_writable_folder,
    remove_stale_staging,
    save_atomically,
)

__all__ = ["SingleWriterStore"]

_logger = logging.getLogger(__name__)

T = TypeVar("T")

_Signature = tuple[int, int, int]


class SingleWriterStore(Generic[T]):
    """A file written by one writer at a time and read, when it changed, by all.

    Subclasses word the refusals for their users through the class
    attributes ``busy_message``/``busy_title``,
    ``not_ready_message``/``not_ready_title`` and ``kept_message``.

    Parameters
    ----------
    path : str | pathlib.Path
        The file (or directory) the store keeps; the lock is ``path`` with
        ``.lock`` appended.
    load : Callable[[pathlib.Path], T]
        Reads what a writer wrote at ``path``; it also checks each new
        version before that replaces the previous one.

    Raises
    ------
    PermissionError
        If the folder of ``path`` is not writable by this process (see
        :func:`~anomed_anonymizer.files.ensure_writable_folder`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> store = SingleWriterStore(
    ...     Path(tempfile.mkdtemp()) / "note.txt", lambda path: path.read_text()
    ... )
    >>> with store.writing():
    ...     store.replace(lambda path: path.write_text("v1"))
    >>> store.latest()
    'v1'
    """

    busy_message = "another request is writing"
    busy_title = BusyError.title
    not_ready_message = "nothing has been written yet"
    not_ready_title = NotReadyError.title
    kept_message = "a version is already written and is kept"
    #: What the file is, for the error about an unwritable folder.
    what = "the stored file"

    def __init__(self, path: str | Path, load: Callable[[Path], T]) -> None:
        self.path = Path(path)
        ensure_writable_folder(self.path, self.what)
        self._load = load
        self._lock = ExclusiveLock(self.path.with_name(self.path.name + ".lock"))
        self._reload_lock = threading.Lock()
        self._loaded: T | None = None
        self._loaded_signature: _Signature | None = None
        removed = remove_stale_staging(self.path)
        if removed:
            _logger.info(
                "removed %d leftovers of killed saves beside %s", removed, self.path
            )

    @contextlib.contextmanager
    def writing(self, *, keep_existing: bool = False) -> Iterator[None]:
        """Be the only writer for the duration of the block.

        Parameters
        ----------
        keep_existing : bool, optional
            Refuse to write if a version exists (checked under the lock, so
            two first writers cannot both pass).

        Raises
        ------
        BusyError
            At entry, if another thread or worker process is writing. What the
            block raises passes through unchanged.
        ConflictError
            At entry, if ``keep_existing`` and a version exists.
        """
        try:
            self._lock.acquire()
        except BusyError as exc:
            raise BusyError(
                f"{self.busy_message} ({exc})", title=self.busy_title
            ) from exc
        try:
            if keep_existing:
                self.refuse_if_written()
            yield
        finally:
            self._lock.release()

    def replace(self, write: Callable[[Path], None]) -> None:
        """Write a new version with ``write(temporary_path)``, read it back
        with ``load``, and put it in place atomically (see
        :func:`~anomed_anonymizer.files.save_atomically`).

        Raises
        ------
        VerificationError
            If what was written cannot be loaded; the previous version stays.
        Exception
            Whatever ``write`` raised; the previous version then stays.
        """
        started = time.perf_counter()
        save_atomically(write, self.path, verify=self._load)
        _logger.info(
            "saved %s (%d bytes) in %.3f s",
            self.path,
            _size(self.path),
            time.perf_counter() - started,
        )

    def latest(self) -> T:
        """The newest version, loaded again only if the file changed.

        Raises
        ------
        NotReadyError
            If nothing has been written yet.
        """
        signature = self._signature()
        if signature is None:
            raise NotReadyError(self.not_ready_message, title=self.not_ready_title)
        with self._reload_lock:
            if signature != self._loaded_signature:
                started = time.perf_counter()
                self._loaded = self._load(self.path)
                self._loaded_signature = signature
                _logger.info(
                    "loaded %s in %.3f s", self.path, time.perf_counter() - started
                )
                self._on_load(signature[1] / 1e9)
            return self._loaded  # type: ignore[return-value]

    def refuse_if_written(self) -> None:
        """Raise :class:`~anomed_anonymizer.errors.ConflictError` (with
        ``kept_message`` and when the version was saved) if one exists."""
        saved_at = self.saved_at()
        if saved_at is not None:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(saved_at))
            raise ConflictError(f"{self.kept_message} (saved {when})")

    def saved_at(self) -> float | None:
        """When the current version was saved (epoch seconds), or ``None``
        if nothing has been written yet."""
        signature = self._signature()
        return signature[1] / 1e9 if signature is not None else None

    def _on_load(self, saved_at: float) -> None:
        """Called after this process loaded the version saved at ``saved_at``
        (epoch seconds); subclasses may report it."""

    def _signature(self) -> _Signature | None:
        # The inode changes with every atomic replace, so two saves within one
        # mtime tick are still told apart.
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
