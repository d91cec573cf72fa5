"""The audited classifier's utility, beside what its attacks find: a report
that names a leak should also say what the model is worth."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..scoring import accuracy

__all__ = ["classification_utility"]


def classification_utility(
    predict: Callable[[np.ndarray], np.ndarray],
    X_members: np.ndarray,
    y_members: np.ndarray,
    X_held_out: np.ndarray,
    y_held_out: np.ndarray,
) -> dict[str, dict[str, float]]:
    """Strict accuracy (:func:`~anomed_anonymizer.scoring.accuracy`, as the
    challenge scores it) on the held-out rows and on the training rows (the
    gap hints at overfitting).

    Parameters
    ----------
    predict : Callable[[np.ndarray], np.ndarray]
        The fitted model's ``predict``.
    X_members, y_members : numpy.ndarray
        The rows it was trained on.
    X_held_out, y_held_out : numpy.ndarray
        Rows it never saw.

    Returns
    -------
    dict
        ``{"held_out": {"accuracy": a}, "training": {"accuracy": b}}``, the
        shape of :func:`~.regression.regression_utility`'s answer.
    """
    return {
        "held_out": {"accuracy": accuracy(predict(X_held_out), y_held_out)},
        "training": {"accuracy": accuracy(predict(X_members), y_members)},
    }
