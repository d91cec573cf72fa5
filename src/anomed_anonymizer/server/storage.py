"""The model file shared by all worker processes of one anonymizer server.

One process fits and saves (atomically); every process reloads the file when
it changes. A non-blocking file lock guards fitting, so a second ``/fit`` is
refused at once, whichever worker process it lands on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..files import ExclusiveLock, LockHeldError, save_atomically

__all__ = ["FitInProgressError", "ModelStore", "NotFittedError"]

_logger = logging.getLogger(__name__)


class NotFittedError(RuntimeError):
    """No fitted model has been saved yet."""


class FitInProgressError(LockHeldError):
    """Another request (in any worker process) is fitting right now."""


class ModelStore:
    """Saves fitted models atomically and serves the newest one.

    Parameters
    ----------
    model_filepath : str | pathlib.Path
        Where the fitted model lives.
    model_loader : Callable[[str | pathlib.Path], Any]
        Restores a model from ``model_filepath``.
    """

    def __init__(
        self, model_filepath: str | Path, model_loader: Callable[[str | Path], Any]
    ) -> None:
        self.model_filepath = Path(model_filepath)
        self._load = model_loader
        self._fit_lock = ExclusiveLock(
            self.model_filepath.with_name(self.model_filepath.name + ".lock")
        )
        self._reload_lock = threading.Lock()
        self._loaded: Any = None
        self._loaded_signature: tuple[int, int, int] | None = None

    @contextlib.contextmanager
    def fitting(self) -> Iterator[None]:
        """Hold the fit lock for the duration of the block.

        Raises
        ------
        FitInProgressError
            If another thread or worker process is fitting.
        """
        try:
            with self._fit_lock.held():
                yield
        except LockHeldError as exc:
            raise FitInProgressError(f"fitting is already in progress ({exc})") from exc

    def save(self, model: Any) -> None:
        """Save ``model`` with its own ``save`` method, atomically."""
        started = time.perf_counter()
        save_atomically(model.save, self.model_filepath)
        _logger.info(
            "saved model to %s (%d bytes) in %.3f s",
            self.model_filepath,
            _size(self.model_filepath),
            time.perf_counter() - started,
        )

    def latest(self) -> Any:
        """Return the newest saved model, loading it if the file changed.

        Raises
        ------
        NotFittedError
            If no model has been saved yet.
        """
        signature = self._signature()
        if signature is None:
            raise NotFittedError("this anonymizer is not fitted yet: POST /fit first")
        with self._reload_lock:
            if signature != self._loaded_signature:
                started = time.perf_counter()
                self._loaded = self._load(self.model_filepath)
                self._loaded_signature = signature
                _logger.info(
                    "loaded model from %s in %.3f s",
                    self.model_filepath,
                    time.perf_counter() - started,
                )
            return self._loaded

    def _signature(self) -> tuple[int, int, int] | None:
        # The inode changes with every atomic replace, so two saves within one
        # mtime tick are still told apart.
        try:
            stat = os.stat(self.model_filepath)
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
