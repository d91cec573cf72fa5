"""The private category selection: its threshold, its delta and what it keeps.

OpenDP draws the noise from a generator that cannot be seeded, so the one
statistical test here states its failure probability (below 1e-9).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("opendp")

from scipy import stats

from anomed_anonymizer.tabular.synthesis.selection import (
    laplace_threshold,
    release_probability,
    select_categories,
)


@pytest.mark.parametrize("epsilon", [0.01, 0.1, 0.5, 2.0])
@pytest.mark.parametrize("delta", [1e-12, 1e-6, 1e-3, 0.3])
def test_threshold_is_the_smallest_within_delta(epsilon, delta):
    scale, threshold = laplace_threshold(epsilon, delta)
    assert scale == pytest.approx(1 / epsilon)
    assert release_probability(1, scale, threshold) <= delta
    if threshold > 1:
        assert release_probability(1, scale, threshold - 1) > delta
    # About 1 + ln(1/delta) / epsilon rows, within one noise scale.
    assert abs(threshold - (1 + math.log(1 / delta) / epsilon)) <= scale + 1


def test_release_probability_is_the_discrete_laplace_tail():
    # P[Z = z] = (1 - a) / (1 + a) * a**|z|, summed directly.
    scale, a = 2.0, math.exp(-0.5)
    z = np.arange(-200, 201)
    pmf = (1 - a) / (1 + a) * a ** np.abs(z)
    for count, threshold in [(1, 5), (1, 1), (3, 2), (10, 4)]:
        expected = pmf[count + z >= threshold].sum()
        assert release_probability(count, scale, threshold) == pytest.approx(expected)


def test_a_value_held_by_one_row_is_kept_at_the_recorded_rate():
    # A large delta makes the rate measurable: threshold 2 at epsilon 2, so a
    # single-row value is kept with p = a / (1 + a) = 0.119. (OpenDP 0.14's
    # own map would claim a**2 / (1 + a) = 0.016: opendp/opendp#2922.)
    n_runs = 1000
    kept = [
        len(select_categories(np.array([0]), 2.0, 0.3, 10).kept) for _ in range(n_runs)
    ]
    selection = select_categories(np.array([0]), 2.0, 0.3, 10)
    p = release_probability(1, selection.scale, selection.threshold)
    assert selection.threshold == 2
    assert selection.delta >= p
    low, high = stats.binom.ppf([1e-10, 1 - 1e-10], n_runs, p)
    assert low <= sum(kept) <= high, (sum(kept), p)


def test_frequent_values_kept_rare_ones_dropped_and_capped():
    codes = np.repeat(np.arange(5), [5000, 3000, 2000, 1000, 1])
    selection = select_categories(codes, 0.5, 1e-9, max_categories=3)
    # Threshold about 43 rows: the first four pass with probability
    # 1 - 1e-200; the cap keeps the three largest noisy counts.
    assert selection.threshold < 100
    np.testing.assert_array_equal(selection.kept, [0, 1, 2])
    assert selection.epsilon == pytest.approx(0.5)
    assert selection.delta <= 1e-9
