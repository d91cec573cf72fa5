"""Pickling fitted anonymizers (the server makes every save atomic: see
:mod:`anomed_anonymizer.files`)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

__all__ = ["pickle_anonymizer", "unpickle_anonymizer"]


def pickle_anonymizer(anonymizer: Any, filepath: str | Path) -> None:
    """Pickle ``anonymizer`` to ``filepath`` (a ``serializer`` for
    :class:`WrappedAnonymizer`).

    Parameters
    ----------
    anonymizer : Any
        A picklable object.
    filepath : str | pathlib.Path
        Where to write.
    """
    with open(filepath, "wb") as file:
        pickle.dump(anonymizer, file, protocol=pickle.HIGHEST_PROTOCOL)


def unpickle_anonymizer(filepath: str | Path) -> Any:
    """Load what :func:`pickle_anonymizer` wrote (a ``model_loader``).

    Only ever load files your own server wrote: unpickling runs code.

    Parameters
    ----------
    filepath : str | pathlib.Path
        The file to read.

    Returns
    -------
    Any
        The unpickled object.
    """
    with open(filepath, "rb") as file:
        return pickle.load(file)
