"""The model file shared by all worker processes of one anonymizer server.

One process fits and saves (atomically); every process reloads the file when
it changes; a second ``/fit`` is refused at once, whichever worker process it
lands on. See :class:`~anomed_anonymizer.store.SingleWriterStore`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import BusyError, NotReadyError
from ..store import SingleWriterStore
from ..web import metrics

__all__ = ["FitInProgressError", "ModelStore", "NotFittedError"]

# This module's old names for classes of the error vocabulary.
NotFittedError = NotReadyError
FitInProgressError = BusyError


class ModelStore(SingleWriterStore[Any]):
    """Saves fitted models atomically and serves the newest one.

    Parameters
    ----------
    model_filepath : str | pathlib.Path
        Where the fitted model lives.
    model_loader : Callable[[str | pathlib.Path], Any]
        Restores a model from ``model_filepath``.
    """

    busy_message = "fitting is already in progress"
    busy_title = "Fitting in progress"
    not_ready_message = "this anonymizer is not fitted yet: POST /fit first"
    not_ready_title = "Not fitted"
    what = "the model file"
    kept_message = (
        "a model is already fitted and this server refuses refits "
        "(ANOMED_REFIT=refuse): every refit of a DP model spends its privacy "
        "budget again. POST /fit?refit=true replaces it on purpose"
    )

    def __init__(
        self, model_filepath: str | Path, model_loader: Callable[[str | Path], Any]
    ) -> None:
        super().__init__(model_filepath, model_loader)
        self.model_filepath = self.path

    @contextlib.contextmanager
    def fitting(self, *, keep_existing: bool = False) -> Iterator[None]:
        """Hold the fit lock for the block (see :meth:`writing`).

        Raises
        ------
        BusyError
            At entry, if another thread or worker process is fitting.
        ConflictError
            At entry, if ``keep_existing`` and a model is fitted.
        """
        with self.writing(keep_existing=keep_existing):
            yield

    def save(self, model: Any) -> None:
        """Save ``model`` with its own ``save`` method, atomically; the saved
        file must load with the model loader before it replaces the previous
        one.

        Raises
        ------
        VerificationError
            If what was saved does not load; the previous model is kept.
        """
        self.replace(model.save)

    def _on_load(self, saved_at: float) -> None:
        metrics().generation.set(saved_at)
