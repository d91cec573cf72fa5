"""Splitting arrays into batches without copying."""

from __future__ import annotations

import numpy as np

__all__ = ["batch_views"]


def batch_views(array: np.ndarray, batch_size: int | None) -> list[np.ndarray]:
    """Split ``array`` along its first axis into views of ``batch_size`` rows.

    Parameters
    ----------
    array : numpy.ndarray
        The array to split.
    batch_size : int | None
        Rows per batch; the last batch may be shorter. ``None``, or a size of
        at least ``len(array)``, gives the whole array as one batch.

    Returns
    -------
    list[numpy.ndarray]
        Views into ``array`` (no data is copied).

    Raises
    ------
    ValueError
        If ``batch_size`` is not a positive integer (or ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> [len(b) for b in batch_views(np.arange(10), 4)]
    [4, 4, 2]
    """
    if batch_size is None:
        return [array]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(
            f"batch_size must be a positive integer or None, got {batch_size!r}"
        )
    if batch_size <= 0:
        raise ValueError(
            f"batch_size must be a positive integer or None, got {batch_size}"
        )
    n = len(array)
    if batch_size >= n:
        return [array]
    return [array[start : start + batch_size] for start in range(0, n, batch_size)]
