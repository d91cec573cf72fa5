"""Membership inference against regressors: the loss is the signal.

A regressor's ``predict`` answers a number (or a curve) per row, not a
label, so the label-only attacks and those on ``predict_proba`` do not
apply. What does: how close the prediction comes to the true target.

- Loss threshold (Yeom et al. 2018, "Privacy risk in machine learning"):
  members tend to have a smaller loss; the score is minus the per-example
  squared error (mean over outputs). Needs only ``predict``.
- LiRA (Carlini et al. 2022) on reference models: online, per sample and
  output, Gaussians of the residual ``y - prediction`` under the IN and the
  OUT models, the log-likelihood ratios summed over outputs; offline, how
  far below the OUT models' losses the target's loss lies (one-sided, on
  ``log`` loss, which is closer to Gaussian than the loss). The Gaussians'
  variances are moderated as in :func:`.score_based.gaussian_lira`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scoring import regression_evaluator
from .score_based import gaussian_lira

__all__ = [
    "SKIPPED_FOR_REGRESSION",
    "TASKS",
    "lira_regression",
    "per_example_loss",
    "predictions",
    "regression_utility",
    "residuals",
    "resolve_task",
]

#: What ``task`` may be.
TASKS = ("auto", "classification", "regression")

#: The note an audit of a regressor gives for the attacks it cannot run.
SKIPPED_FOR_REGRESSION = (
    "Regression target: the label-only attacks (gap, ART black-box, noise "
    "robustness, decision boundary), RMIA, the probability-based LiRA and the "
    "one-run DP audit (mislabelled canaries) need classes or predict_proba and "
    "were skipped; the loss-threshold attack and LiRA on the loss stand in."
)

# Keeps log(loss) finite for a prediction that is exact, relative to the loss
# scale of the data.
_RELATIVE_FLOOR = 1e-12


def resolve_task(y: np.ndarray, task: str = "auto") -> str:
    """``"classification"`` or ``"regression"``.

    ``"auto"``: a float ``y`` (or any ``y`` of shape ``(n, k)``) is a
    regression target; integers, booleans and strings are class labels.
    Class labels stored as floats need ``task="classification"``.

    Raises
    ------
    ValueError
        If ``task`` is none of :data:`TASKS`.

    Examples
    --------
    >>> resolve_task(np.array([0.5, 1.25])), resolve_task(np.array([0, 1]))
    ('regression', 'classification')
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if task != "auto":
        return task
    y = np.asarray(y)
    return "regression" if y.ndim == 2 or y.dtype.kind == "f" else "classification"


def predictions(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``model.predict(X)`` as float64 of ``y``'s shape ``(n, k)``.

    Raises
    ------
    ValueError
        If the prediction does not have one value per target column.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    predict = model.predict if hasattr(model, "predict") else model
    predicted = np.asarray(predict(X), dtype=np.float64)
    if predicted.size != y.size:
        raise ValueError(
            f"the regressor predicted shape {predicted.shape} for targets of "
            f"shape {y.shape}: it must predict one value per target column"
        )
    return predicted.reshape(y.shape)


def residuals(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y - prediction``, ``(n, k)``: a module-level signal for
    :func:`~.reference.train_reference_models`."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return y - predictions(model, X, y)


def per_example_loss(residual: np.ndarray) -> np.ndarray:
    """Squared error per example, averaged over outputs: ``(..., n)`` from
    residuals of shape ``(..., n, k)``."""
    return np.mean(np.square(residual), axis=-1)


def lira_regression(
    target: np.ndarray, reference: np.ndarray, design: np.ndarray, online: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """LiRA membership scores of a regressor (higher: more likely a member).

    Parameters
    ----------
    target : numpy.ndarray
        ``(n_samples, k)``: the target model's residuals.
    reference : numpy.ndarray
        ``(n_models, n_samples, k)``: the reference models' residuals.
    design : numpy.ndarray
        ``(n_models, n_samples)`` booleans: which model trained on which sample.
    online : bool
        Residual per output, IN vs OUT (summed log-likelihood ratio); or
        the log loss against the OUT models only (one-sided).

    Returns
    -------
    tuple[numpy.ndarray, dict]
        The scores, and ``lira_statistic``, ``lira_variance`` and
        ``variance_prior_weight`` (averaged over outputs online).

    Examples
    --------
    >>> from anomed_anonymizer.audit.reference import membership_design
    >>> rng = np.random.default_rng(0)
    >>> design = membership_design(40, 8, seed=0)
    >>> reference = np.where(design, 0.0, 1.0)[..., None] + rng.normal(
    ...     0, 0.1, (8, 40, 1))
    >>> target = np.where(np.arange(40) % 2 == 0, 0.0, 1.0)[:, None]
    >>> scores, _ = lira_regression(target, reference, design, online=True)
    >>> bool(scores[::2].min() > scores[1::2].max())
    True
    """
    if online:
        total = np.zeros(target.shape[0])
        weights: dict[str, list[float]] = {"out": [], "in": []}
        pooled = True
        for output in range(target.shape[1]):
            scores, details = gaussian_lira(
                target[:, output], reference[..., output], design, online=True
            )
            total += scores
            pooled &= details["lira_variance"] == "pooled"
            for side, weight in details["variance_prior_weight"].items():
                weights[side].append(weight)
        return total, {
            "lira_statistic": "residual per output (log-likelihood ratios summed)",
            "lira_variance": "pooled" if pooled else "moderated",
            "variance_prior_weight": {
                side: round(float(np.mean(w)), 4) for side, w in weights.items()
            },
        }
    loss, reference_loss = per_example_loss(target), per_example_loss(reference)
    floor = _RELATIVE_FLOOR * max(float(reference_loss.mean()), 1e-300)
    observed = -np.log(loss + floor)
    values = -np.log(reference_loss + floor)
    scores, details = gaussian_lira(observed, values, design, online=False)
    return scores, {"lira_statistic": "-log per-example squared error", **details}


def regression_utility(
    model: Any,
    X_members: np.ndarray,
    y_members: np.ndarray,
    X_held_out: np.ndarray,
    y_held_out: np.ndarray,
) -> dict[str, dict[str, float]]:
    """MSE and MAE (:mod:`..scoring`, as the challenge scores them) on the
    held-out rows and on the training rows (the gap hints at overfitting)."""
    evaluate = regression_evaluator(["mse", "mae"])
    y_n = np.asarray(y_held_out, dtype=np.float64).reshape(len(y_held_out), -1)
    y_m = np.asarray(y_members, dtype=np.float64).reshape(len(y_members), -1)
    return {
        "held_out": evaluate(predictions(model, X_held_out, y_n), y_n),
        "training": evaluate(predictions(model, X_members, y_m), y_m),
    }
