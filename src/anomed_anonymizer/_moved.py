"""Old import paths of names that moved to the layer that owns them.

A module whose names moved sets ``__getattr__ = moved(__name__, ...)``: the
names resolve on first use (PEP 562), so the old path keeps working without
importing the new home before anyone asks, and without a second list of the
names to keep in step. Each use of an old path warns (``FutureWarning``,
shown by default) with the new path and the release that removes the old one.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["REMOVAL_VERSION", "moved"]

#: The release that removes the old import paths.
REMOVAL_VERSION = "0.3.0"


def moved(owner: str, module: str | None = None, **names: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that finds moved names in their new home.

    Parameters
    ----------
    owner : str
        The module the names moved away from (its ``__name__``).
    module : str | None, optional
        A module every other name of ``owner`` now lives in.
    **names : str
        Single names and their new home, ``"package.module"`` or
        ``"package.module:new_name"``.

    Returns
    -------
    Callable[[str], Any]
        The ``__getattr__`` for ``owner``.
    """

    def resolve(name: str) -> Any:
        target = names.get(name) or (module if not name.startswith("_") else None)
        if target is not None:
            home, _, new_name = target.partition(":")
            found = getattr(importlib.import_module(home), new_name or name, _MISSING)
            if found is not _MISSING:
                warnings.warn(
                    f"{owner}.{name} moved to {home}.{new_name or name}; the old "
                    f"path goes in anomed-anonymizer {REMOVAL_VERSION}",
                    FutureWarning,
                    stacklevel=2,
                )
                return found
        raise AttributeError(f"module {owner!r} has no attribute {name!r}")

    return resolve


_MISSING = object()
