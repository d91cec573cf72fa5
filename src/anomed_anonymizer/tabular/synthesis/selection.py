"""Differentially private choice of a column's categories: thresholded noisy counts.

Without a declared domain, the categories a synthesizer may emit must not be
read off the data: a value held by one person would be published by its mere
presence. :func:`select_categories` keeps a value only if its count plus
discrete Laplace noise reaches a threshold (the "stability-based histogram" of
Korolova et al. 2009 and Bun, Nissim & Stemmer 2016; Rogers 2023 analyses the
unknown-domain case). The noise is drawn by OpenDP's
``make_laplace_threshold``; the threshold and the privacy loss are derived
here (see :func:`laplace_threshold`).

Derivation, for a column and neighbouring tables that differ by one row (the
row adds one to the count of exactly one value): with discrete Laplace noise
``Z`` of scale ``s = 1 / epsilon`` (``P[Z = z]`` proportional to
``a ** abs(z)``, ``a = exp(-1 / s)``), a value is kept when ``count + Z >=
threshold``.

- A value present in both tables: its count changes by one, so its noisy
  count is epsilon-DP (the Laplace mechanism, sensitivity 1); keeping it or
  not is post-processing of that count.
- A value present only in the larger table has count 1 there and is kept with
  probability ``P[Z >= threshold - 1] = a ** (threshold - 1) / (1 + a)``,
  against probability 0 in the smaller table. That probability is the delta.

So the selection is (epsilon, delta)-DP with ``threshold = 1 + ceil(s *
ln(1 / (delta * (1 + a))))``, the smallest threshold whose delta is at most
the target: roughly ``1 + ln(1 / delta) / epsilon`` rows.

OpenDP 0.14's privacy map for ``make_laplace_threshold`` reports ``P[Z >=
threshold]`` instead, one step of the tail too small (opendp/opendp#2922: it
keeps counts *equal* to the threshold, but leaves their mass out of delta).
Its sampler is used as it is; the delta recorded is the larger of the two
figures, so a later OpenDP that fixes its map cannot make us understate it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Selection", "laplace_threshold", "release_probability", "select_categories"]


@dataclass(frozen=True)
class Selection:
    """The outcome of one column's private selection, and what it cost.

    Attributes
    ----------
    kept : numpy.ndarray of intp
        The kept codes (indices into the column's observed values), sorted.
    scale : float
        The scale of the discrete Laplace noise.
    threshold : int
        The smallest noisy count that keeps a value.
    epsilon, delta : float
        The privacy loss of the selection.
    """

    kept: np.ndarray
    scale: float
    threshold: int
    epsilon: float
    delta: float


def laplace_threshold(epsilon: float, delta: float) -> tuple[float, int]:
    """Noise scale and threshold of an (epsilon, delta)-DP selection.

    Parameters
    ----------
    epsilon : float
        The selection's epsilon, > 0.
    delta : float
        The largest allowed probability that a value held by a single row is
        kept, in ``(0, 1)``.

    Returns
    -------
    scale : float
        ``1 / epsilon``.
    threshold : int
        The smallest integer ``t >= 1`` with ``release_probability(1, scale,
        t) <= delta``.

    Examples
    --------
    >>> scale, threshold = laplace_threshold(0.1, 1e-6)
    >>> scale, threshold
    (10.0, 133)
    >>> release_probability(1, scale, threshold) <= 1e-6
    True
    >>> release_probability(1, scale, threshold - 1) > 1e-6
    True
    """
    scale = 1.0 / epsilon
    a = math.exp(-1.0 / scale)
    steps = math.ceil(scale * math.log(1.0 / (delta * (1.0 + a))))
    threshold = max(1, 1 + steps)
    # Guard the rounding of the logarithm: step down while the bound holds,
    # up while it does not.
    while threshold > 1 and release_probability(1, scale, threshold - 1) <= delta:
        threshold -= 1
    while release_probability(1, scale, threshold) > delta:
        threshold += 1
    return scale, threshold


def release_probability(count: int, scale: float, threshold: int) -> float:
    """The probability that a value with ``count`` rows passes the threshold.

    ``P[count + Z >= threshold]`` for discrete Laplace noise ``Z`` of the
    given scale.

    Examples
    --------
    >>> round(release_probability(1, 1.0, 1), 3)  # P[Z >= 0]
    0.731
    >>> release_probability(5, 1.0, 3) > 0.9
    True
    """
    a = math.exp(-1.0 / scale)
    m = threshold - count
    if m <= 0:
        # P[Z >= m] = 1 - P[Z <= m - 1] = 1 - P[Z >= 1 - m]
        return 1.0 - a ** (1 - m) / (1.0 + a)
    return a**m / (1.0 + a)


def select_categories(
    codes: np.ndarray, epsilon: float, delta: float, max_categories: int
) -> Selection:
    """Keep the codes whose noisy count reaches the threshold.

    Parameters
    ----------
    codes : numpy.ndarray of int
        One code per row (a value's index among the column's values).
    epsilon, delta : float
        The selection's budget.
    max_categories : int
        Keep at most this many codes: those with the largest noisy counts
        (post-processing, free of budget).

    Returns
    -------
    Selection
        The kept codes and the selection's parameters and privacy loss.
    """
    import opendp.prelude as dp

    dp.enable_features("contrib")
    scale, threshold = laplace_threshold(epsilon, delta)
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.symmetric_distance()
    measurement = dp.t.make_count_by(*space, TV=int) >> dp.m.then_laplace_threshold(
        scale=scale, threshold=threshold
    )
    noisy = measurement(np.asarray(codes, dtype=np.int64).tolist())
    # The largest noisy counts first; ties in code order, so the cut is
    # reproducible given the counts.
    ranked = sorted(noisy, key=lambda code: (-noisy[code], code))
    kept = np.sort(np.asarray(ranked[:max_categories], dtype=np.intp))
    opendp_epsilon, opendp_delta = measurement.map(1)
    return Selection(
        kept=kept,
        scale=scale,
        threshold=threshold,
        epsilon=max(epsilon, float(opendp_epsilon)),
        delta=max(release_probability(1, scale, threshold), float(opendp_delta)),
    )
