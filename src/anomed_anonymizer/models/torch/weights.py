"""The weights file of a :class:`~anomed_anonymizer.TorchWrapper`.

A plain dictionary of tensors and numbers, written with ``torch.save`` and
read back with ``torch.load(weights_only=True)``: a weights file can hold no
code, and a file that tries (a pickle with a ``__reduce__`` payload) is
refused with :class:`UnsafeWeightsError` before anything in it runs.

torch is imported by :func:`write` and :func:`read`, not by importing this
module.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ...errors import AnomedError
from ...files import save_atomically

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "READ_VERSIONS",
    "UnsafeWeightsError",
    "read",
    "write",
]

#: The ``"format"`` entry of every weights file (regressors' too: the name
#: predates them, and files already deployed carry it).
FORMAT = "anomed-anonymizer/torch-classifier"
#: The newest ``"version"``: 2 adds regressors (``"task": "regression"``,
#: ``"n_outputs"``, ``"target_shape"``, ``"target_scale"`` instead of
#: ``"classes"``). Classifiers are still written as version 1, so releases
#: before regression read them.
FORMAT_VERSION = 2
#: The versions this release reads.
READ_VERSIONS = (1, 2)


class UnsafeWeightsError(AnomedError, ValueError):
    """A weights file holds more than tensors and plain data (e.g. code).

    A server answers it with a 500 whose description leaves out the file's
    path (the log has it)."""

    title = "Unsafe weights"
    public_message = (
        "refused to load the model file: it holds more than tensors and plain "
        "data, so it was not written by TorchWrapper.save"
    )


def write(
    state: dict[str, Any], filepath: str | Path, version: int = FORMAT_VERSION
) -> None:
    """Save ``state`` (``"format"`` and ``"version"`` added) to ``filepath``,
    atomically."""
    import torch

    if version not in READ_VERSIONS:
        raise ValueError(f"no weights format version {version!r}")
    state = {"format": FORMAT, "version": version, **state}
    save_atomically(lambda path: torch.save(state, path), filepath)


def read(filepath: str | Path, device: Any) -> dict[str, Any]:
    """The dictionary :func:`write` saved, its tensors on ``device``.

    Raises
    ------
    UnsafeWeightsError
        If the file holds anything but tensors and plain data.
    FileNotFoundError
        If there is no such file.
    ValueError
        If it is not a weights file of a TorchWrapper, or of another format
        version.
    """
    import torch

    try:
        state = torch.load(filepath, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeWeightsError(
            f"refused to load {filepath}: it holds more than tensors and plain "
            "data, so it was not written by TorchWrapper.save "
            f"({_unpickler_reason(exc)})"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{filepath} is not a readable torch file: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(
            f"{filepath} is not a weights file written by TorchWrapper.save"
        )
    if state.get("version") not in READ_VERSIONS:
        raise ValueError(
            f"{filepath} has format version {state.get('version')!r}; this "
            "anomed-anonymizer reads versions "
            + ", ".join(str(version) for version in READ_VERSIONS)
        )
    return state


def _unpickler_reason(exc: Exception) -> str:
    # torch's message is a page of advice (with terminal escapes) around one
    # line that names what the file tried to load.
    for line in str(exc).splitlines():
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].split(". ")[0].strip()
    return type(exc).__name__
