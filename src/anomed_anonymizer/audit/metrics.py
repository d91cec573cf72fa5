"""How well an attack tells members from non-members, with honest uncertainty.

Every figure comes with the interval the data supports:

- ROC AUC with a stratified bootstrap interval (members and non-members are
  resampled separately, so every resample keeps the evaluation's balance);
  for an attack whose scores take two values (a label-only attack such as
  "correctly classified"), where the AUC is ``0.5 + (TPR - FPR) / 2``,
  Newcombe's hybrid score interval of that difference instead (see
  :func:`binary_auc_interval`): the bootstrap cannot vary a group whose
  scores all tie, which is exactly the memorising model's members, and its
  95 % interval then covered the true AUC 89 % of the time;
- TPR at fixed FPR levels (0.1 %, 1 %, 10 %), each with a bootstrap interval,
  and ``None`` where the non-members are too few to resolve the level at all
  (an FPR of 0.1 % needs at least 1000 non-members);
- membership advantage (TPR - FPR) and balanced accuracy at a threshold that
  was *not* chosen on the samples it is measured on (two-fold cross-fitting:
  pick on one half, count on the other), with Clopper-Pearson intervals;
- a one-sided Mann-Whitney p-value for "AUC > 0.5" (the scores of members
  and non-members come from one distribution under the null), which the
  report corrects for trying several attacks (Holm, see :func:`holm`);
- an empirical epsilon lower bound from the Clopper-Pearson upper limits of
  the false-positive and false-negative rates (Jagielski et al. 2020,
  "Auditing differentially private machine learning"), read at a fixed grid
  of thresholds (quantiles of the other half's scores, see
  :data:`EPSILON_QUANTILES`) with the confidence level divided among them
  (Bonferroni): the largest of these bounds holds at the stated confidence.
  Picking the threshold that maximises the bound on one half instead lands
  where that half happens to have no false negatives, and the other half's
  count there swings the bound from 0 to several for scores of one AUC.

The maximum of TPR - FPR over all thresholds, measured on the same samples,
is not reported: for scores without any signal it still grows like
``1/sqrt(n)``, which would make a private model look leaky.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "EPSILON_QUANTILES",
    "FPR_LEVELS",
    "AttackMetrics",
    "binary_auc_interval",
    "clopper_pearson",
    "evaluate_scores",
    "holm",
    "tpr_at_fpr",
]

#: The false-positive rates at which the true-positive rate is reported.
FPR_LEVELS = (0.001, 0.01, 0.1)

#: Quantile levels of the scores whose thresholds the epsilon bound is read
#: at: both tails (a low threshold bounds the false negatives, a high one the
#: false positives) and the middle; each gets ``1 / len`` of the error rate.
EPSILON_QUANTILES = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99)
_MIDDLE = EPSILON_QUANTILES.index(0.5)


@dataclass(frozen=True)
class AttackMetrics:
    """An attack's success on balanced members and non-members.

    Attributes
    ----------
    auc, auc_ci : float, tuple[float, float]
        ROC AUC and its interval: Newcombe's where the scores take two
        values (``auc_counts``), else the bootstrap's.
    tpr_at_fpr, tpr_at_fpr_ci : dict
        Per FPR level: the TPR and its bootstrap interval, ``None`` where
        ``n_non_members * level < 1`` (the level cannot be resolved).
    balanced_accuracy, advantage : float
        At a cross-fitted threshold: ``(TPR + TNR) / 2`` and ``TPR - FPR``.
    advantage_ci : tuple[float, float]
        From the Clopper-Pearson intervals of TPR and FPR.
    epsilon_lower_bound : float
        Smallest epsilon consistent (at the confidence level, jointly for
        every threshold of the grid) with the error rates at cross-fitted
        thresholds; 0 when nothing is shown.
    fpr_ci, fnr_ci : tuple[float, float]
        Clopper-Pearson intervals of the rates the bound is computed from, at
        the grid's corrected level ``1 - (1 - confidence) / len(grid)``.
    epsilon_quantile : float
        The level of :data:`EPSILON_QUANTILES` the bound was read at (0.5
        where no level shows anything).
    p_value : float
        One-sided Mann-Whitney U p-value of "members score higher than
        non-members" (AUC > 0.5); 1 where every score ties. Not corrected for
        the other attacks of an audit: the report does that.
    auc_bootstrap : numpy.ndarray
        The bootstrap AUCs ``auc_ci`` was read from, kept so that a report
        can widen the interval for the number of attacks it compares.
    auc_counts : tuple[int, int, int, int] | None
        For scores of two values: members with the higher one, members,
        non-members with the higher one, non-members; ``auc_ci`` and
        :meth:`auc_interval` are then Newcombe's. ``None`` otherwise.
    """

    auc: float
    auc_ci: tuple[float, float]
    tpr_at_fpr: dict[float, float | None]
    tpr_at_fpr_ci: dict[float, tuple[float, float] | None]
    balanced_accuracy: float
    advantage: float
    advantage_ci: tuple[float, float]
    epsilon_lower_bound: float
    fpr_ci: tuple[float, float]
    fnr_ci: tuple[float, float]
    epsilon_quantile: float = 0.5
    p_value: float = 1.0
    auc_bootstrap: np.ndarray = field(
        default_factory=lambda: np.empty(0), repr=False, compare=False
    )
    auc_counts: tuple[int, int, int, int] | None = None

    def auc_upper(self, confidence: float) -> float:
        """Upper end of the two-sided AUC interval at ``confidence``."""
        return self.auc_interval(confidence)[1]

    def auc_interval(self, confidence: float) -> tuple[float, float]:
        """Two-sided AUC interval at ``confidence``: Newcombe's for scores
        of two values, else the bootstrap's (``auc_ci`` where the bootstrap
        AUCs were not kept)."""
        if self.auc_counts is not None:
            return binary_auc_interval(*self.auc_counts, confidence=confidence)
        if self.auc_bootstrap.size == 0:
            return self.auc_ci
        return _interval(self.auc_bootstrap, confidence)


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values for testing them together.

    Rejecting where the adjusted p-value is below ``alpha`` keeps the chance
    of *any* false rejection at most ``alpha``, whatever the dependence
    between the tests (Holm 1979): an audit that runs seven attacks on the
    same samples and calls the model leaky if one of them succeeds needs it.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    k = len(p)
    stepped = np.maximum.accumulate(p[order] * (k - np.arange(k)))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def clopper_pearson(
    successes: np.ndarray | int, trials: np.ndarray | int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) binomial interval, vectorized.

    The same interval as ``scipy.stats.binomtest(k, n).proportion_ci(
    method="exact")``, for arrays of counts at once.

    Examples
    --------
    >>> low, high = clopper_pearson(0, 100)
    >>> float(low), round(float(high), 4)
    (0.0, 0.0362)
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return low, high


def binary_auc_interval(
    member_hits: int,
    n_members: int,
    non_member_hits: int,
    n_non_members: int,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """AUC interval of an attack whose scores take two values.

    Such an attack's AUC is ``0.5 + (TPR - FPR) / 2``, with TPR and FPR the
    shares of members and non-members given the higher score. The interval
    is Newcombe's hybrid score interval of ``TPR - FPR`` (Newcombe 1998,
    "Interval estimation for the difference between independent
    proportions", method 10), from the Wilson intervals of both shares
    (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``), mapped
    to the AUC. Unlike a bootstrap, it keeps its level where a share is 0
    or 1 (every member correctly classified, say).

    Parameters
    ----------
    member_hits, n_members : int
        Members given the higher score, and members.
    non_member_hits, n_non_members : int
        The same for non-members.
    confidence : float, optional
        Two-sided level, by default 0.95.

    Returns
    -------
    tuple[float, float]
        The AUC's interval, within [0, 1].

    Examples
    --------
    >>> low, high = binary_auc_interval(171, 171, 165, 171)
    >>> round(low, 3), round(high, 3)
    (0.503, 0.537)
    """

    def wilson(hits: int, n: int) -> tuple[float, float]:
        ci = stats.binomtest(int(hits), int(n)).proportion_ci(
            confidence_level=confidence, method="wilson"
        )
        return float(ci.low), float(ci.high)

    tpr, fpr = member_hits / n_members, non_member_hits / n_non_members
    (tpr_low, tpr_high), (fpr_low, fpr_high) = (
        wilson(member_hits, n_members),
        wilson(non_member_hits, n_non_members),
    )
    difference = tpr - fpr
    low = difference - math.hypot(tpr - tpr_low, fpr_high - fpr)
    high = difference + math.hypot(tpr_high - tpr, fpr - fpr_low)
    return max(0.0, 0.5 + low / 2), min(1.0, 0.5 + high / 2)


def tpr_at_fpr(
    member_scores: np.ndarray, non_member_scores: np.ndarray, fpr: float
) -> np.ndarray:
    """TPR of the ROC curve at exactly ``fpr``.

    Between two thresholds the ROC curve is a straight line: where scores
    tie at the threshold, the attack flags that fraction of the tied samples
    at random (a randomized test, as in the trapezoidal AUC). Works on the
    last axis, so rows of bootstrap resamples are handled at once.

    Examples
    --------
    >>> non_members = np.arange(10.0)  # 10 % FPR: flag scores above 8
    >>> float(tpr_at_fpr(np.array([9.5, 9.5, 8.5, 0.0]), non_members, 0.1))
    0.75
    >>> float(tpr_at_fpr(np.ones(4), np.ones(10), 0.1))  # all tied: chance
    0.1
    """
    members = np.asarray(member_scores, dtype=np.float64)
    non_members = np.sort(non_member_scores, axis=-1)
    n0 = non_members.shape[-1]
    allowed = fpr * n0  # false positives the level admits
    rank = min(int(np.floor(allowed + 1e-9)), n0 - 1)
    threshold = non_members[..., n0 - 1 - rank][..., None]
    above = np.sum(non_members > threshold, axis=-1)
    tied = np.sum(non_members == threshold, axis=-1)
    fraction = np.clip((allowed - above) / tied, 0.0, 1.0)
    hits = np.sum(members > threshold, axis=-1) + fraction * np.sum(
        members == threshold, axis=-1
    )
    return hits / members.shape[-1]


def _auc(member_scores: np.ndarray, non_member_scores: np.ndarray) -> np.ndarray:
    u = stats.mannwhitneyu(
        member_scores, non_member_scores, axis=-1, method="asymptotic"
    ).statistic
    return u / (member_scores.shape[-1] * non_member_scores.shape[-1])


def _bootstrap(
    members: np.ndarray,
    non_members: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """AUCs and TPRs at each FPR level of stratified resamples, in blocks."""
    n1, n0 = len(members), len(non_members)
    block = max(1, 4_000_000 // (n1 + n0))
    aucs, tprs = [], {level: [] for level in FPR_LEVELS}
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        m = members[rng.integers(0, n1, (size, n1))]
        n = non_members[rng.integers(0, n0, (size, n0))]
        aucs.append(_auc(m, n))
        for level in FPR_LEVELS:
            tprs[level].append(tpr_at_fpr(m, n, level))
    return np.concatenate(aucs), {k: np.concatenate(v) for k, v in tprs.items()}


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _epsilon(
    fp: np.ndarray, fn: np.ndarray, n0: int, n1: int, delta: float, confidence: float
) -> np.ndarray:
    """Epsilon lower bounds from error counts.

    An (epsilon, delta)-DP mechanism forces ``FPR + exp(eps) * FNR >= 1 - delta``
    and the same with the rates swapped. The rates' upper limits come from
    two-sided Clopper-Pearson intervals, so that both hold jointly at
    ``confidence`` (Bonferroni).
    """
    _, fpr = clopper_pearson(fp, n0, confidence)
    _, fnr = clopper_pearson(fn, n1, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        one = np.log(np.maximum(1 - delta - fpr, 0.0) / fnr)
        two = np.log(np.maximum(1 - delta - fnr, 0.0) / fpr)
    return np.nan_to_num(np.maximum(np.maximum(one, two), 0.0))


def _counts(members: np.ndarray, non_members: np.ndarray, thresholds: np.ndarray):
    """True positives and false positives of "member if score >= t" per t."""
    m, n = np.sort(members), np.sort(non_members)
    tp = len(m) - np.searchsorted(m, thresholds, side="left")
    fp = len(n) - np.searchsorted(n, thresholds, side="left")
    return tp, fp


def _advantage_threshold(members: np.ndarray, non_members: np.ndarray) -> float:
    """On this half: the threshold of largest advantage."""
    candidates = np.unique(np.concatenate((members, non_members, [np.inf])))
    tp, fp = _counts(members, non_members, candidates)
    advantage = tp / len(members) - fp / len(non_members)
    return float(candidates[np.argmax(advantage)])


def _cross_fitted_counts(
    members: np.ndarray, non_members: np.ndarray, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(tp, fp) summed over both halves, each at thresholds from the other
    half: the one of largest advantage, and the grid of score quantiles."""
    halves_m = np.array_split(rng.permutation(members), 2)
    halves_n = np.array_split(rng.permutation(non_members), 2)
    totals = {
        "advantage": (np.zeros(1, np.int64), np.zeros(1, np.int64)),
        "epsilon": (
            np.zeros(len(EPSILON_QUANTILES), np.int64),
            np.zeros(len(EPSILON_QUANTILES), np.int64),
        ),
    }
    for pick, count in ((0, 1), (1, 0)):
        picked = np.concatenate((halves_m[pick], halves_n[pick]))
        thresholds = {
            "advantage": np.array(
                [_advantage_threshold(halves_m[pick], halves_n[pick])]
            ),
            # Data values (no interpolation): infinite scores stay usable.
            "epsilon": np.quantile(picked, EPSILON_QUANTILES, method="lower"),
        }
        for key, (tp_total, fp_total) in totals.items():
            tp, fp = _counts(halves_m[count], halves_n[count], thresholds[key])
            tp_total += tp
            fp_total += fp
    return totals


def evaluate_scores(
    member_scores: np.ndarray,
    non_member_scores: np.ndarray,
    *,
    confidence: float = 0.95,
    n_bootstrap: int = 1000,
    delta: float = 0.0,
    seed: int = 0,
) -> AttackMetrics:
    """Measure an attack from its scores (higher means "more likely a member").

    Parameters
    ----------
    member_scores, non_member_scores : numpy.ndarray
        One score per member and per non-member; at least 4 of each.
    confidence : float, optional
        Level of every interval, by default 0.95.
    n_bootstrap : int, optional
        Resamples for the AUC and TPR intervals.
    delta : float, optional
        The delta of (epsilon, delta)-differential privacy the bound assumes.
    seed : int, optional
        Seeds the resampling and the cross-fitting halves.

    Returns
    -------
    AttackMetrics

    Raises
    ------
    ValueError
        If a set has fewer than 4 scores or a score is not finite-or-infinite
        (NaN).
    """
    members = np.asarray(member_scores, dtype=np.float64).ravel()
    non_members = np.asarray(non_member_scores, dtype=np.float64).ravel()
    n1, n0 = len(members), len(non_members)
    if min(n1, n0) < 4:
        raise ValueError(
            f"an attack needs at least 4 members and 4 non-members, got {n1} and {n0}"
        )
    if np.isnan(members).any() or np.isnan(non_members).any():
        raise ValueError("attack scores contain NaN")
    rng = np.random.default_rng(seed)
    boot_auc, boot_tpr = _bootstrap(members, non_members, n_bootstrap, rng)
    values = np.unique(np.concatenate([members, non_members]))
    counts = None
    if values.size == 2:
        high_score = values[1]
        counts = (
            int(np.count_nonzero(members == high_score)),
            n1,
            int(np.count_nonzero(non_members == high_score)),
            n0,
        )
    tprs, tpr_cis = {}, {}
    for level in FPR_LEVELS:
        resolvable = n0 * level >= 1 - 1e-9
        tprs[level] = (
            float(tpr_at_fpr(members, non_members, level)) if resolvable else None
        )
        tpr_cis[level] = _interval(boot_tpr[level], confidence) if resolvable else None
    return AttackMetrics(
        auc=float(_auc(members, non_members)),
        auc_ci=(
            binary_auc_interval(*counts, confidence=confidence)
            if counts is not None
            else _interval(boot_auc, confidence)
        ),
        tpr_at_fpr=tprs,
        tpr_at_fpr_ci=tpr_cis,
        **_threshold_metrics(members, non_members, rng, delta, confidence),
        p_value=_p_value(members, non_members),
        auc_bootstrap=boot_auc,
        auc_counts=counts,
    )


def _p_value(members: np.ndarray, non_members: np.ndarray) -> float:
    """One-sided Mann-Whitney p-value of AUC > 0.5 (tie-corrected)."""
    if np.unique(np.concatenate([members, non_members])).size < 2:
        return 1.0  # every score ties: the attack cannot tell anyone apart
    p = stats.mannwhitneyu(
        members, non_members, alternative="greater", method="asymptotic"
    ).pvalue
    return float(p) if np.isfinite(p) else 1.0


def _threshold_metrics(
    members: np.ndarray,
    non_members: np.ndarray,
    rng: np.random.Generator,
    delta: float,
    confidence: float,
) -> dict[str, Any]:
    """Advantage, balanced accuracy and the epsilon bound at cross-fitted
    thresholds, with their Clopper-Pearson intervals."""
    n1, n0 = len(members), len(non_members)
    counts = _cross_fitted_counts(members, non_members, rng)
    tp, fp = (int(v[0]) for v in counts["advantage"])
    tpr_low, tpr_high = clopper_pearson(tp, n1, confidence)
    fpr_low, fpr_high = clopper_pearson(fp, n0, confidence)
    advantage = tp / n1 - fp / n0
    tp_e, fp_e = counts["epsilon"]
    # Bonferroni over the grid: every level's bound holds at once.
    level = 1.0 - (1.0 - confidence) / len(EPSILON_QUANTILES)
    bounds = _epsilon(fp_e, n1 - tp_e, n0, n1, delta, level)
    best = int(np.argmax(bounds)) if bounds.max() > 0 else _MIDDLE
    return {
        "balanced_accuracy": float((1 + advantage) / 2),
        "advantage": float(advantage),
        "advantage_ci": (float(tpr_low - fpr_high), float(tpr_high - fpr_low)),
        "epsilon_lower_bound": float(bounds[best]),
        "fpr_ci": _pair(clopper_pearson(fp_e[best], n0, level)),
        "fnr_ci": _pair(clopper_pearson(n1 - tp_e[best], n1, level)),
        "epsilon_quantile": EPSILON_QUANTILES[best],
    }


def _pair(interval: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    return float(interval[0]), float(interval[1])
