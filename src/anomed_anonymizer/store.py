"""One file, one writer at a time, many readers, across the worker processes
of one server.

Both servers keep their state this way: the supervised server its fitted
model, the tabular server its release (table, scheme and report). A writer
holds a non-blocking lock next to the file, so a second writer is refused at
once, whichever worker process it runs in; the file is replaced atomically
(:func:`~anomed_anonymizer.files.save_atomically`); every process reloads it
when it changes.
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

from .errors import BusyError, NotReadyError
from .files import ExclusiveLock, save_atomically

__all__ = ["SingleWriterStore"]

_logger = logging.getLogger(__name__)

T = TypeVar("T")

_Signature = tuple[int, int, int]


class SingleWriterStore(Generic[T]):
    """A file written by one writer at a time and read, when it changed, by all.

    Subclasses word the two refusals for their users through the class
    attributes ``busy_message``/``busy_title`` and
    ``not_ready_message``/``not_ready_title``.

    Parameters
    ----------
    path : str | pathlib.Path
        The file (or directory) the store keeps; the lock is ``path`` with
        ``.lock`` appended.
    load : Callable[[pathlib.Path], T]
        Reads what a writer wrote at ``path``.

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

    def __init__(self, path: str | Path, load: Callable[[Path], T]) -> None:
        self.path = Path(path)
        self._load = load
        self._lock = ExclusiveLock(self.path.with_name(self.path.name + ".lock"))
        self._reload_lock = threading.Lock()
        self._loaded: T | None = None
        self._loaded_signature: _Signature | None = None

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Be the only writer for the duration of the block.

        Raises
        ------
        BusyError
            At entry, if another thread or worker process is writing. What the
            block raises passes through unchanged.
        """
        try:
            self._lock.acquire()
        except BusyError as exc:
            raise BusyError(
                f"{self.busy_message} ({exc})", title=self.busy_title
            ) from exc
        try:
            yield
        finally:
            self._lock.release()

    def replace(self, write: Callable[[Path], None]) -> None:
        """Write a new version with ``write(temporary_path)`` and put it in
        place atomically (see :func:`~anomed_anonymizer.files.save_atomically`).

        Raises
        ------
        Exception
            Whatever ``write`` raised; the previous version then stays.
        """
        started = time.perf_counter()
        save_atomically(write, self.path)
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
            return self._loaded  # type: ignore[return-value]

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
