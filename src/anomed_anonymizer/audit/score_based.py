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
  (one-sided). Each sample's variance is *moderated* (empirical Bayes, as
  limma does for genes: Smyth 2004): its own sample variance, from the few
  models it has, is shrunk towards a prior fitted to the variances of all
  samples, with weights given by how much those variances really differ.
  Where they differ no more than sampling noise explains, this is the
  pooled variance the paper advises for few models; where they differ a lot
  (a random forest is certain of some samples and split on others), each
  sample keeps mostly its own, which pooling would drown at low FPR.
- RMIA (Zarifzadeh et al. 2024, "Low-cost high-power membership inference
  attacks"): the likelihood ratio ``p(x | target) / p(x)`` with ``p(x)``
  averaged over reference models, compared pairwise with the ratios of
  population samples ``z``; the score is the fraction of ``z`` that ``x``
  dominates (gamma = 1). Offline, ``p(x)`` is estimated from OUT models only
  as ``((1 + a) * mean_OUT + (1 - a)) / 2``, with ``a`` chosen by attacking
  one reference model with the others (as ML Privacy Meter does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "gaussian_lira",
    "lira_attack",
    "lira_scores",
    "logit_confidence",
    "resolution_clip",
    "rmia_scores",
]

_CLIP = 1e-12  # keeps log(p) finite for models that are certain
_MIN_STD = 1e-6
_MIN_VARIANCE = 1e-12  # sample variances below this count as zero
_MIN_SAMPLES = 3  # sample variances needed to fit a prior to them
_MAX_HALF_DF = 1e8  # half the prior degrees of freedom treated as finite


def logit_confidence(probability: np.ndarray, clip: float = _CLIP) -> np.ndarray:
    """``log(p / (1 - p))``, LiRA's approximately Gaussian statistic.

    ``p`` is clipped to ``[clip, 1 - clip]`` so that a certain model's 0 and
    1 stay finite.
    """
    p = np.clip(probability, clip, 1 - clip)
    return np.log(p) - np.log1p(-p)


def resolution_clip(*probabilities: np.ndarray) -> float:
    """Where 0 and 1 are clipped: half the smallest distance from 0 or 1 of
    any probability strictly between them, and at least ``1e-12``.

    A model whose probabilities come in steps (a random forest: multiples of
    one over its trees; k nearest neighbours: of ``1 / k``) says ``p = 1``
    for everything closer to 1 than its step. Clipping at ``1e-12`` would
    put those samples 23 logits above ``p = 0.99``, one step below, and the
    Gaussians of LiRA would be fitted to that artefact; half a step puts them
    where the step's midpoint lies. Probabilities strictly between 0 and 1
    never move: a model that never answers exactly 0 or 1 is unaffected.

    Examples
    --------
    >>> resolution_clip(np.array([0.0, 0.5, 0.75, 1.0]))  # steps of 1/4
    0.125
    >>> resolution_clip(np.array([0.0, 1.0]))  # no step to read: the default
    1e-12
    """
    values = np.concatenate([np.ravel(p) for p in probabilities])
    inner = values[(values > 0) & (values < 1)]
    if inner.size == 0:
        return _CLIP
    step = float(np.minimum(inner, 1 - inner).min())
    return max(_CLIP, step / 2)


def _variance_prior(variance: np.ndarray, df: np.ndarray) -> tuple[float, float] | None:
    """Prior degrees of freedom ``d0`` and scale ``s0^2`` of the scaled
    inverse chi-square distribution the sample variances fit best.

    Smyth's (2004) moment estimator on ``log`` variances: their spread beyond
    what ``df`` degrees of freedom explain (``trigamma(df / 2)``) is
    ``trigamma(d0 / 2)``; none beyond it gives ``d0 = inf`` (one variance for
    all). Zero variances (all models agree) are left out of the fit, as in
    limma. ``None`` when fewer than three variances can be used.
    """
    usable = (df > 0) & (variance > _MIN_VARIANCE)
    if usable.sum() < _MIN_SAMPLES:
        return None
    d = df[usable].astype(np.float64)
    e = np.log(variance[usable]) - special.digamma(d / 2) + np.log(d / 2)
    excess = e.var(ddof=1) - special.polygamma(1, d / 2).mean()
    if excess <= special.polygamma(1, _MAX_HALF_DF):  # d0 beyond any use: pool
        return np.inf, float(np.exp(e.mean()))
    half = optimize.brentq(
        lambda x: special.polygamma(1, x) - excess, 1e-8, _MAX_HALF_DF, xtol=1e-10
    )
    d0 = 2 * half
    scale = np.exp(e.mean() + special.digamma(half) - np.log(half))
    return float(d0), float(scale)


def _gaussian(
    values: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-sample mean and moderated standard deviation of ``values`` where
    ``mask``, and the prior's mean weight in the variances (1: pooled)."""
    count = mask.sum(axis=0)
    mean = np.where(mask, values, 0.0).sum(axis=0) / count
    squares = np.where(mask, (values - mean) ** 2, 0.0).sum(axis=0)
    df = count - 1
    pooled = squares.sum() / max(1, df.sum())
    variance = squares / np.maximum(df, 1)
    prior = _variance_prior(variance, df)
    if prior is None or not np.isfinite(prior[0]):
        return mean, np.full(mean.shape, max(np.sqrt(pooled), _MIN_STD)), 1.0
    d0, scale = prior
    moderated = (d0 * scale + df * variance) / (d0 + df)
    weight = float(np.mean(d0 / (d0 + df)))
    return mean, np.maximum(np.sqrt(moderated), _MIN_STD), weight


def lira_attack(
    target: np.ndarray,
    reference: np.ndarray,
    design: np.ndarray,
    online: bool,
    clip: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """LiRA membership scores (higher: more likely a member) and how the
    Gaussians were fitted.

    Parameters
    ----------
    target : numpy.ndarray
        ``(n_samples,)``: the target model's probability of each true label.
    reference : numpy.ndarray
        ``(n_models, n_samples)``: the reference models' probabilities.
    design : numpy.ndarray
        ``(n_models, n_samples)`` booleans: which model trained on which sample.
    online : bool
        Fit IN and OUT Gaussians (likelihood ratio) or OUT only (one-sided).
    clip : float | None, optional
        Where 0 and 1 are clipped before the logit; ``None`` (default) reads
        it from the probabilities' step (:func:`resolution_clip`).

    Returns
    -------
    tuple[numpy.ndarray, dict]
        The scores, and ``lira_variance`` (``"moderated"``: per sample,
        shrunk towards the prior; ``"pooled"``: one variance for all, where
        the samples' variances differ no more than chance explains or too
        few models give a per-sample one), ``variance_prior_weight`` (per
        side, ``"out"`` and online ``"in"``: the prior's share
        ``d0 / (d0 + k - 1)`` in a sample's variance fitted from ``k``
        models; 1 is pooling, 0 the sample's own variance alone) and
        ``logit_clip`` (see :func:`resolution_clip`).
    """
    if clip is None:
        clip = resolution_clip(target, reference)
    observed = logit_confidence(target, clip)
    values = logit_confidence(reference, clip)
    scores, details = gaussian_lira(observed, values, design, online)
    details["logit_clip"] = clip
    return scores, details


def gaussian_lira(
    observed: np.ndarray, values: np.ndarray, design: np.ndarray, online: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """LiRA's test on any approximately Gaussian statistic (higher: more
    member-like), without the logit of :func:`lira_attack`.

    Parameters
    ----------
    observed : numpy.ndarray
        ``(n_samples,)``: the target model's statistic per sample.
    values : numpy.ndarray
        ``(n_models, n_samples)``: the reference models' statistics.
    design : numpy.ndarray
        ``(n_models, n_samples)`` booleans: which model trained on which sample.
    online : bool
        Likelihood ratio of IN and OUT Gaussians, or OUT only (one-sided).

    Returns
    -------
    tuple[numpy.ndarray, dict]
        The scores, and ``lira_variance`` and ``variance_prior_weight`` as
        :func:`lira_attack` reports them.
    """
    mean_out, std_out, weight_out = _gaussian(values, ~design)
    weights = {"out": weight_out}
    if online:
        mean_in, std_in, weights["in"] = _gaussian(values, design)
        scores = stats.norm.logpdf(observed, mean_in, std_in) - stats.norm.logpdf(
            observed, mean_out, std_out
        )
    else:
        scores = (observed - mean_out) / std_out
    pooled = all(weight == 1.0 for weight in weights.values())
    details = {
        "lira_variance": "pooled" if pooled else "moderated",
        "variance_prior_weight": {side: round(w, 4) for side, w in weights.items()},
    }
    return scores, details


def lira_scores(
    target: np.ndarray, reference: np.ndarray, design: np.ndarray, online: bool
) -> np.ndarray:
    """LiRA membership scores (higher: more likely a member), see
    :func:`lira_attack`.

    Examples
    --------
    >>> design = np.array([[True, False], [False, True]] * 2)
    >>> reference = np.where(design, 0.99, 0.6)
    >>> scores = lira_scores(np.array([0.99, 0.6]), reference, design, online=True)
    >>> bool(scores[0] > scores[1])
    True
    """
    return lira_attack(target, reference, design, online)[0]


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
