"""Saving and loading fitted anonymizers, atomically.

A model file is never written in place: the anonymizer saves into a fresh
temporary directory beside the target (same file system, same file name, so
suffix-sensitive savers such as Keras are satisfied) and the result is renamed
over the target. A crash or kill during ``save`` leaves the previous model
intact, and a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["pickle_anonymizer", "save_atomically", "unpickle_anonymizer"]


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
