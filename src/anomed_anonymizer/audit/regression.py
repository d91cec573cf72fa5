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
- ART's ``MembershipInferenceBlackBox`` with ``input_type="loss"``
  (:class:`ARTLossAttack`): what the deanonymizer template would run on a
  regressor, a random forest on the per-example loss and the true target.
  Needs only ``predict``.
- RMIA (Zarifzadeh et al. 2024) on the same reference models
  (:func:`rmia_regression`): :func:`.score_based.rmia_scores` with a
  Gaussian likelihood of the residual in place of the true label's
  probability.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..scoring import regression_evaluator
from .score_based import gaussian_lira, rmia_scores

__all__ = [
    "SKIPPED_FOR_REGRESSION",
    "TASKS",
    "ARTLossAttack",
    "lira_regression",
    "per_example_loss",
    "predictions",
    "regression_utility",
    "residual_likelihood",
    "residuals",
    "resolve_task",
    "rmia_regression",
]

#: What ``task`` may be.
TASKS = ("auto", "classification", "regression")

#: The note an audit of a regressor gives for the attacks it cannot run.
SKIPPED_FOR_REGRESSION = (
    "Regression target: the label-only attacks (gap, noise robustness, "
    "decision boundary), the probability-based LiRA and RMIA and the one-run "
    "DP audit (mislabelled canaries) need classes or predict_proba and were "
    "skipped; the loss-threshold attack, ART's black-box attack on the loss "
    "and LiRA and RMIA on the loss stand in."
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


def residual_likelihood(residual: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``exp(-mean_j r_j^2 / (2 s_j^2))``: a Gaussian likelihood of each
    sample's residuals ``r`` (``(..., n, k)``) with per-output scale ``s``,
    in ``(0, 1]``; the mean over outputs (the ``k``-th root of the product
    of the outputs' likelihoods) keeps it far above zero for many outputs.
    The normalising constant is left out: it cancels in RMIA's ratios."""
    scaled = np.square(residual) / (2 * np.square(scale))
    return np.exp(-np.mean(scaled, axis=-1))


def rmia_regression(
    target: np.ndarray, reference: np.ndarray, design: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """RMIA membership scores of a regressor (online: all reference models).

    :func:`.score_based.rmia_scores` on :func:`residual_likelihood`: the
    ratio of the target's likelihood of a sample to its average under the
    reference models, compared with the population's ratios (the fraction
    of them it exceeds). The scale of each output is the reference models'
    root mean squared error on the samples they did not train on (the
    population's error, not the memorised members').

    Parameters
    ----------
    target : numpy.ndarray
        ``(n_samples, k)``: the target model's residuals.
    reference : numpy.ndarray
        ``(n_models, n_samples, k)``: the reference models' residuals.
    design : numpy.ndarray
        ``(n_models, n_samples)`` booleans: which model trained on which sample.

    Returns
    -------
    tuple[numpy.ndarray, dict]
        The scores, and ``rmia_likelihood`` and ``likelihood_scale``.
    """
    out = np.broadcast_to(~design[..., None], reference.shape)
    mean_square = np.where(out, np.square(reference), 0.0).sum(axis=(0, 1))
    scale = np.sqrt(mean_square / np.maximum(out.sum(axis=(0, 1)), 1))
    # An output every OUT model predicts exactly: any scale serves as well.
    scale = np.where(scale > 0, scale, 1.0)
    scores, _ = rmia_scores(
        residual_likelihood(target, scale),
        residual_likelihood(reference, scale),
        design,
        online=True,
    )
    return scores, {
        "rmia_likelihood": "Gaussian of the residual, geometric mean over outputs",
        "likelihood_scale": [round(float(s), 6) for s in scale],
    }


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


def _art_regression():
    """ART's attack and black-box regressor, without ART's import noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*not found", category=UserWarning)
        from art.attacks.inference.membership_inference import (
            MembershipInferenceBlackBox,
        )
        from art.estimators.regression.blackbox import BlackBoxRegressor
    return MembershipInferenceBlackBox, BlackBoxRegressor


def _given_loss(label: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """ART's ``loss_fn(y, pred)`` when ``pred`` already is the loss."""
    return loss


class ARTLossAttack:
    """ART's ``MembershipInferenceBlackBox(input_type="loss")`` on a regressor.

    ART's attack model (a random forest by default, the template's) learns
    membership from two features per sample: the regressor's loss and the
    true target. The loss is the squared error averaged over outputs (as
    :func:`per_example_loss`), computed by the caller from one batch of
    predictions and handed to ART as ``pred``, with a ``loss_fn`` of ART's
    :class:`~art.estimators.regression.blackbox.BlackBoxRegressor` that
    returns it: for one output this is exactly ART's own MSE loss, and a
    served model is queried once, not at every fit and inference.

    ART takes one target column (it reshapes ``y`` to ``(n, 1)``); a target
    of ``k > 1`` outputs enters the attack model as its mean over outputs.

    Parameters
    ----------
    n_features : int
        Features per sample (ART's ``input_shape``).
    attack_model_type : str, optional
        ART's attack model, ``"rf"`` (the template's) by default.
    seed : int, optional
        Seeds the attack model (ART leaves it unseeded).
    """

    def __init__(
        self, n_features: int, attack_model_type: str = "rf", seed: int = 0
    ) -> None:
        self.n_features = n_features
        self.attack_model_type = attack_model_type
        self.seed = seed
        self.attack_: Any = None

    def fit(
        self,
        member_residuals: np.ndarray,
        y_members: np.ndarray,
        non_member_residuals: np.ndarray,
        y_non_members: np.ndarray,
    ) -> ARTLossAttack:
        """Train on known members and non-members: their residuals
        ``y - prediction`` (``(n, k)``, :func:`residuals`) and targets."""
        MembershipInferenceBlackBox, BlackBoxRegressor = _art_regression()
        estimator = BlackBoxRegressor(
            _not_queried, input_shape=(self.n_features,), loss_fn=_given_loss
        )
        attack = MembershipInferenceBlackBox(
            estimator=estimator,
            input_type="loss",
            attack_model_type=self.attack_model_type,
        )
        if hasattr(attack.attack_model, "random_state"):
            attack.attack_model.set_params(random_state=self.seed)
        attack.fit(
            y=_label(y_members),
            test_y=_label(y_non_members),
            pred=per_example_loss(member_residuals),
            test_pred=per_example_loss(non_member_residuals),
        )
        self.attack_ = attack
        return self

    def membership_scores(self, residual: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The attack model's probability that each sample is a member."""
        if self.attack_ is None:
            raise RuntimeError("the attack is not fitted yet: call fit first")
        scores = self.attack_.infer(
            x=None, y=_label(y), pred=per_example_loss(residual), probabilities=True
        )
        return np.ravel(scores).astype(np.float64)


def _label(y: np.ndarray) -> np.ndarray:
    """The one target column ART takes: ``y``, or its mean over outputs."""
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(len(y), -1).mean(axis=1)


def _not_queried(x: np.ndarray) -> np.ndarray:  # pragma: no cover - never called
    raise RuntimeError("the loss is computed before ART sees the model")
