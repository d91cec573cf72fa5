"""Score-based membership inference with reference models: an upper bound.

Both attacks compare what the target model says about a sample with what
reference models, trained with (IN) and without (OUT) that sample, say about
it. ``signals`` are the probabilities of each sample's true label:
``reference`` is ``(n_models, n_samples)``, ``target`` is ``(n_samples,)``,
``design`` says which reference model trained on which sample.

- LiRA (Carlini et al. 2022, "Membership inference attacks from first
  principles"): fit Gaussians to the logit-scaled confidence of the IN and
  OUT models per sample. Online: the likelihood ratio of the target's value
  under IN and OUT. Offline: how far above the OUT distribution it lies
  (one-sided). With fewer than 64 reference models the variance is pooled
  over samples, as the paper advises.
- RMIA (Zarifzadeh et al. 2024, "Low-cost high-power membership inference
  attacks"): the likelihood ratio ``p(x | target) / p(x)`` with ``p(x)``
  averaged over reference models, compared pairwise with the ratios of
  population samples ``z``; the score is the fraction of ``z`` that ``x``
  dominates (gamma = 1). Offline, ``p(x)`` is estimated from OUT models only
  as ``((1 + a) * mean_OUT + (1 - a)) / 2``, with ``a`` chosen by attacking
  one reference model with the others (as ML Privacy Meter does).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["lira_scores", "logit_confidence", "rmia_scores"]

_CLIP = 1e-12  # keeps log(p) finite for models that are certain
_MIN_STD = 1e-6
_POOLED_BELOW = 64  # reference models under which variances are pooled


def logit_confidence(probability: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))``, LiRA's approximately Gaussian statistic."""
    p = np.clip(probability, _CLIP, 1 - _CLIP)
    return np.log(p) - np.log1p(-p)


def _gaussian(
    values: np.ndarray, mask: np.ndarray, pooled: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample mean and standard deviation of ``values`` where ``mask``."""
    count = mask.sum(axis=0)
    mean = np.where(mask, values, 0.0).sum(axis=0) / count
    squares = np.where(mask, (values - mean) ** 2, 0.0)
    if pooled:
        std = np.full(mean.shape, np.sqrt(squares.sum() / max(1, (count - 1).sum())))
    else:
        std = np.sqrt(squares.sum(axis=0) / np.maximum(count - 1, 1))
    return mean, np.maximum(std, _MIN_STD)


def lira_scores(
    target: np.ndarray, reference: np.ndarray, design: np.ndarray, online: bool
) -> np.ndarray:
    """LiRA membership scores (higher: more likely a member).

    Examples
    --------
    >>> design = np.array([[True, False], [False, True]] * 2)
    >>> reference = np.where(design, 0.99, 0.6)
    >>> scores = lira_scores(np.array([0.99, 0.6]), reference, design, online=True)
    >>> bool(scores[0] > scores[1])
    True
    """
    observed = logit_confidence(target)
    values = logit_confidence(reference)
    pooled = len(reference) < _POOLED_BELOW
    mean_out, std_out = _gaussian(values, ~design, pooled)
    if not online:
        return (observed - mean_out) / std_out
    mean_in, std_in = _gaussian(values, design, pooled)
    return stats.norm.logpdf(observed, mean_in, std_in) - stats.norm.logpdf(
        observed, mean_out, std_out
    )


def _marginal(reference: np.ndarray, design: np.ndarray, offline_a: float | None):
    """``p(x)``: the mean over all models (online) or the OUT-based estimate."""
    if offline_a is None:
        return reference.mean(axis=0)
    out = np.where(~design, reference, 0.0).sum(axis=0) / (~design).sum(axis=0)
    return ((1 + offline_a) * out + (1 - offline_a)) / 2


def _dominance(ratio: np.ndarray, population_ratio: np.ndarray) -> np.ndarray:
    """Fraction of population ratios that each ratio exceeds (gamma = 1)."""
    ordered = np.sort(population_ratio)
    return np.searchsorted(ordered, ratio, side="left") / len(ordered)


def _rmia(
    target: np.ndarray, reference: np.ndarray, design: np.ndarray, a: float | None
) -> np.ndarray:
    ratio = (target + _CLIP) / (_marginal(reference, design, a) + _CLIP)
    return _dominance(ratio, ratio)


def _tune_offline_a(reference: np.ndarray, design: np.ndarray) -> float:
    """The ``a`` under which RMIA best attacks reference model 0 (AUC)."""
    from sklearn.metrics import roc_auc_score

    pseudo_target, others = reference[0], reference[1:]
    others_design = design[1:]
    usable = (~others_design).any(axis=0)
    if usable.sum() < 2 or len(np.unique(design[0][usable])) < 2:
        return 0.3  # ML Privacy Meter's default
    best, best_auc = 0.3, -1.0
    for a in np.round(np.arange(0.0, 1.01, 0.1), 1):
        scores = _rmia(
            pseudo_target[usable], others[:, usable], others_design[:, usable], a
        )
        auc = roc_auc_score(design[0][usable], scores)
        if auc > best_auc:
            best, best_auc = float(a), auc
    return best


def rmia_scores(
    target: np.ndarray, reference: np.ndarray, design: np.ndarray, online: bool
) -> tuple[np.ndarray, float | None]:
    """RMIA membership scores, and the offline ``a`` used (``None`` online).

    The population samples ``z`` are all samples of the audit's population.

    Examples
    --------
    >>> design = np.array([[True, False, True, False], [False, True, False, True]])
    >>> reference = np.where(design, 0.9, 0.5)
    >>> target = np.array([0.9, 0.5, 0.9, 0.5])
    >>> scores, _ = rmia_scores(target, reference, design, online=True)
    >>> scores.tolist()
    [0.5, 0.0, 0.5, 0.0]
    """
    a = None if online else _tune_offline_a(reference, design)
    return _rmia(target, reference, design, a), a
