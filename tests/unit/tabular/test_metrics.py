"""Information-loss measures, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.tabular import (
    MDAVMicroaggregator,
    MondrianKAnonymizer,
    discernibility_metric,
    normalized_certainty_penalty,
    sum_of_squares,
)
from anomed_anonymizer.tabular.kernels import total_variation_distance
from anomed_anonymizer.tabular.metrics import score_release
from anomed_anonymizer.wire import decode_table, encode_table


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


def test_ncp_counts_every_column_of_the_table(table):
    """A column released as it is costs nothing but counts: generalizing
    fewer columns cannot look worse than generalizing more."""
    groups = [0, 0, 0, 1, 1, 1]
    on_qis = normalized_certainty_penalty(table[["age", "sex"]], ["age", "sex"], groups)
    on_table = normalized_certainty_penalty(table, ["age", "sex"], groups)
    assert on_table == pytest.approx(on_qis * 2 / 3)


def test_ncp_of_a_partial_category_set_is_linear():
    # 2 of 4 categories: (2 - 1) / (4 - 1), not 2 / 4.
    table = pd.DataFrame({"c": ["a", "b", "c", "d"]})
    assert normalized_certainty_penalty(table, ["c"], [0, 0, 1, 2]) == pytest.approx(
        (2 * 1 / 3) / 4
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: MondrianKAnonymizer(["age", "city", "plan", "smoker"], k=7),
        lambda: MondrianKAnonymizer(
            ["height", "city"], k=5, sensitive_column="disease", l=2
        ),
        lambda: MDAVMicroaggregator(columns=["age", "height"], k=6),
        lambda: MDAVMicroaggregator(k=4),
    ],
    ids=["mondrian", "mondrian-l-diverse", "mdav-two-columns", "mdav-all-numeric"],
)
def test_reports_equal_the_challenges_scores_exactly(mixed_table, make):
    """report_ after anonymize and the emulated challenge's score of the same
    release (after the Parquet round trip it makes on the wire) are one
    number, not two formulas that happen to agree roughly."""
    anonymizer = make()
    anon, scheme = anonymizer.anonymize(mixed_table)
    received = decode_table(encode_table(anon))
    score = score_release(mixed_table, received, scheme)
    if scheme == "generalization":
        assert anonymizer.report_["ncp"] == score["ncp"]
    else:
        assert anonymizer.report_["information_loss"] == score["sse_sst"]
    assert 0.0 < score["utility"] < 1.0


def test_total_variation_distance_of_codes():
    x = np.array([0, 0, 1, 2])
    assert total_variation_distance(x, x, 3) == 0.0
    assert total_variation_distance(x, np.array([3, 3, 3, 3]), 4) == 1.0
    assert total_variation_distance(x, np.array([0, 1, 1, 2]), 3) == 0.25
