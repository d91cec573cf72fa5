"""Information-loss measures, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.tabular import (
    discernibility_metric,
    normalized_certainty_penalty,
    sum_of_squares,
)


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20, 30, 40, 60, 60, 70],
            "sex": ["f", "m", "f", "f", "m", "m"],
            "zip": pd.Categorical(["a", "b", "c", "a", "a", "a"]),
        }
    )


def test_ncp_hand_computed(table):
    groups = [0, 0, 0, 1, 1, 1]
    # age: ranges 20 and 10 of 50; sex: both classes hold 2 of 2 categories;
    # zip: 3 of 3 categories in the first class, 1 in the second.
    expected = (3 * 20 / 50 + 3 * 10 / 50 + 6 * 1.0 + 3 * 1.0 + 0) / (6 * 3)
    assert normalized_certainty_penalty(
        table, ["age", "sex", "zip"], groups
    ) == pytest.approx(expected)


def test_ncp_bounds(table):
    qis = ["age", "sex", "zip"]
    assert normalized_certainty_penalty(table, qis, np.arange(6)) == 0.0
    assert normalized_certainty_penalty(table, qis, np.zeros(6, int)) == 1.0
    # Group labels need not be dense or sorted.
    assert normalized_certainty_penalty(
        table, qis, [9, 9, 9, -1, -1, -1]
    ) == normalized_certainty_penalty(table, qis, [0, 0, 0, 1, 1, 1])


def test_ncp_ignores_constant_columns():
    table = pd.DataFrame({"x": [1, 1, 1, 1], "y": [0.0, 1.0, 2.0, 3.0]})
    # y: each class spans 1 of 3; x: no penalty (but still counts as a QI).
    ncp = normalized_certainty_penalty(table, ["x", "y"], [0, 0, 1, 1])
    assert ncp == pytest.approx((4 * 1 / 3) / (4 * 2))


def test_discernibility():
    assert discernibility_metric([3, 3, 3, 1, 1]) == 13
    assert discernibility_metric(np.arange(10)) == 10
    with pytest.raises(ValueError, match="1-D"):
        discernibility_metric([[0, 1]])


def test_sum_of_squares_is_unit_free():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    groups = np.arange(50) // 5
    sse, sst = sum_of_squares(table, ["a", "b"], groups)
    scaled = table.assign(a=table["a"] * 1000 + 7)
    assert sum_of_squares(scaled, ["a", "b"], groups) == pytest.approx((sse, sst))
    assert sst == pytest.approx(100.0)  # z-scored: n per column
    means = table.groupby(groups).transform("mean")
    z_sse = (((table - means) / table.std(ddof=0)) ** 2).to_numpy().sum()
    assert sse == pytest.approx(z_sse)


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([0, 1], r"expected shape \(6,\), got \(2,\)"),
        ([0.5] * 6, "groups must be integers"),
    ],
)
def test_bad_groups(table, groups, message):
    with pytest.raises(ValueError, match=message):
        normalized_certainty_penalty(table, ["age"], groups)
    with pytest.raises(ValueError, match=message):
        sum_of_squares(table, ["age"], groups)
