"""Utility metrics of supervised challenges, defined once.

The emulated challenge scores a submitted prediction with these, and the
audit reports the audited model's utility with the same functions, so that a
figure in an audit report is the figure the challenge would give.

A challenge built on ``anomed-challenge`` chooses its own
``anonymizer_evaluator(prediction, ground_truth) -> dict[str, float]``; for
regression that is one or more of :data:`REGRESSION_METRICS` (the platform's
medical drafts score blood-glucose curves by MSE and MAE), averaged uniformly
over the outputs of a multi-output target as scikit-learn does.

Examples
--------
>>> import numpy as np
>>> evaluate = regression_evaluator(["mae", "mse"])
>>> evaluate(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 6.0]]))
{'mae': 0.5, 'mse': 1.0}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

__all__ = [
    "DEFAULT_REGRESSION_METRICS",
    "REGRESSION_METRICS",
    "Evaluator",
    "accuracy",
    "check_regression_prediction",
    "mae",
    "mse",
    "r2",
    "regression_evaluator",
    "rmse",
]

#: ``anonymizer_evaluator(prediction, ground_truth) -> {name: value}``.
Evaluator = Callable[[np.ndarray, np.ndarray], dict[str, float]]


def check_regression_prediction(
    prediction: np.ndarray, ground_truth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 ``(n, k)`` arrays, or a ``ValueError`` naming the mismatch.

    The prediction must have the target's shape exactly (a ``(n,)`` prediction
    for a ``(n, 1)`` target is refused, as a strict challenge refuses it),
    hold numbers, and be finite.

    Raises
    ------
    ValueError
        If either is empty, the shapes differ, the prediction is not numeric,
        or it holds NaN or infinity.
    """
    prediction = np.asarray(prediction)
    ground_truth = np.asarray(ground_truth)
    if len(prediction) == 0 or len(ground_truth) == 0:
        raise ValueError(
            "A regression metric is undefined for an empty `prediction` or "
            "`ground_truth`."
        )
    if prediction.shape != ground_truth.shape:
        raise ValueError(
            f"Shape mismatch of prediction {prediction.shape} and ground_truth "
            f"{ground_truth.shape}: predict one value per target column, in the "
            "target's shape."
        )
    if prediction.dtype.kind not in "biuf":
        raise ValueError(
            f"A regression prediction must hold numbers, got dtype {prediction.dtype}."
        )
    prediction = prediction.astype(np.float64).reshape(len(prediction), -1)
    ground_truth = ground_truth.astype(np.float64).reshape(len(ground_truth), -1)
    bad = int(np.sum(~np.isfinite(prediction)))
    if bad:
        raise ValueError(
            f"The prediction holds {bad} NaN or infinite value(s) of "
            f"{prediction.size}; a regression metric needs finite numbers."
        )
    return prediction, ground_truth


def accuracy(prediction: np.ndarray, ground_truth: np.ndarray) -> float:
    """Strict accuracy: the share of rows predicted exactly (every output of a
    row equal), as ``anomed_challenge.strict_binary_accuracy`` scores them.

    Examples
    --------
    >>> accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]))
    0.75
    """
    prediction, ground_truth = np.asarray(prediction), np.asarray(ground_truth)
    if len(prediction) == 0 or len(prediction) != len(ground_truth):
        raise ValueError(
            f"accuracy needs as many predictions as labels, at least one; got "
            f"{len(prediction)} and {len(ground_truth)}"
        )
    matches = prediction.reshape(len(prediction), -1) == ground_truth.reshape(
        len(ground_truth), -1
    )
    return float(np.mean(np.all(matches, axis=1)))


def mae(prediction: np.ndarray, ground_truth: np.ndarray) -> float:
    """Mean absolute error, averaged uniformly over outputs."""
    p, t = check_regression_prediction(prediction, ground_truth)
    return float(np.mean(np.abs(p - t)))


def mse(prediction: np.ndarray, ground_truth: np.ndarray) -> float:
    """Mean squared error, averaged uniformly over outputs."""
    p, t = check_regression_prediction(prediction, ground_truth)
    return float(np.mean((p - t) ** 2))


def rmse(prediction: np.ndarray, ground_truth: np.ndarray) -> float:
    """Root mean squared error per output, averaged uniformly over outputs
    (scikit-learn's ``root_mean_squared_error``)."""
    p, t = check_regression_prediction(prediction, ground_truth)
    return float(np.mean(np.sqrt(np.mean((p - t) ** 2, axis=0))))


def r2(prediction: np.ndarray, ground_truth: np.ndarray) -> float:
    """Coefficient of determination per output, averaged uniformly.

    An output whose target is constant scores 1.0 when predicted exactly and
    0.0 otherwise (scikit-learn's convention).
    """
    p, t = check_regression_prediction(prediction, ground_truth)
    residual = np.sum((t - p) ** 2, axis=0)
    total = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(
            total > 0, 1.0 - residual / np.where(total > 0, total, 1.0), 0.0
        )
    scores = np.where((total == 0) & (residual == 0), 1.0, scores)
    return float(np.mean(scores))


#: Regression metrics by the name ``--metric`` and JSON bodies use.
REGRESSION_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": mae,
    "mse": mse,
    "rmse": rmse,
    "r2": r2,
}

#: What the platform's regression drafts score: MSE and MAE (mg/dl).
DEFAULT_REGRESSION_METRICS: tuple[str, ...] = ("mse", "mae")


def _metric_names(metrics: Iterable[str] | None) -> Sequence[str]:
    names = list(DEFAULT_REGRESSION_METRICS if metrics is None else metrics)
    if not names:
        raise ValueError(
            f"Choose at least one regression metric of {sorted(REGRESSION_METRICS)}."
        )
    unknown = [name for name in names if name not in REGRESSION_METRICS]
    if unknown:
        raise ValueError(
            f"Unknown regression metric(s) {unknown}; choose from "
            f"{sorted(REGRESSION_METRICS)}."
        )
    return list(dict.fromkeys(names))


def regression_evaluator(metrics: Iterable[str] | None = None) -> Evaluator:
    """An ``anonymizer_evaluator`` scoring by the named metrics.

    Parameters
    ----------
    metrics : iterable of str, optional
        Names from :data:`REGRESSION_METRICS`, in the order the result lists
        them; default :data:`DEFAULT_REGRESSION_METRICS`.

    Returns
    -------
    callable
        ``evaluate(prediction, ground_truth) -> {name: value}``; raises
        ``ValueError`` (see :func:`check_regression_prediction`) for a
        prediction the challenge cannot score.

    Raises
    ------
    ValueError
        If a name is unknown or none is given.
    """
    names = _metric_names(metrics)

    def evaluate(prediction: np.ndarray, ground_truth: np.ndarray) -> dict[str, float]:
        check_regression_prediction(prediction, ground_truth)
        return {
            name: REGRESSION_METRICS[name](prediction, ground_truth) for name in names
        }

    evaluate.__name__ = "regression_evaluator_" + "_".join(names)
    return evaluate
