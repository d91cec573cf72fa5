"""What the wrappers check of regression targets, written once."""

from __future__ import annotations

import numpy as np

__all__ = ["check_regression_targets"]


def check_regression_targets(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` itself, checked to be regression targets for ``n`` rows of X.

    Raises
    ------
    ValueError
        If ``y`` is not of shape ``(n,)`` or ``(n, k)`` with ``k >= 1``, not
        real numbers, or holds NaN or infinite values.
    """
    if y.ndim not in (1, 2) or len(y) != n or (y.ndim == 2 and y.shape[1] == 0):
        raise ValueError(
            f"regression targets y must have shape ({n},) or ({n}, k) with k >= 1, "
            f"one row per row of X; got shape {y.shape}"
        )
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"regression targets y must be real numbers, got dtype {y.dtype}"
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("the regression targets y hold NaN or infinite values")
    return y
