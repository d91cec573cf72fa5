"""Utility: the challenge's own score, and TVDs of ranges and sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.table_audit import audit_release, split_control
from anomed_anonymizer.tabular import MDAVMicroaggregator, MondrianKAnonymizer

from .conftest import QUASI_IDENTIFIERS, Identity, challenge_score


@pytest.mark.parametrize(
    ("anonymizer", "figure", "key"),
    [
        (MondrianKAnonymizer(QUASI_IDENTIFIERS, k=10), "ncp", "ncp"),
        (MDAVMicroaggregator(k=5), "sse_sst", "sse_sst"),
        (Identity(), "marginal_tvd", "mean_tvd"),
    ],
    ids=["mondrian", "mdav", "identity"],
)
def test_utility_equals_the_emulators_score(adult, anonymizer, figure, key):
    original, control = split_control(adult, 0.2, seed=0)
    release, scheme = anonymizer.anonymize(original.copy())
    audit = audit_release(
        original,
        release,
        scheme,
        control=control,
        quasi_identifiers=QUASI_IDENTIFIERS,
        sensitive="income",
        attacks=False,
    )
    score = challenge_score(original, release, scheme)
    assert audit.utility[key] == score[figure]  # to the last bit
    assert audit.utility["challenge_score"] == score
    if scheme == "same":
        assert score[figure] == 0.0  # a copy loses nothing
    else:
        assert 0 < score[figure] < 1


def _audit(original, release, scheme, **kwargs):
    return audit_release(
        original,
        release,
        scheme,
        quasi_identifiers=[original.columns[0]],
        sensitive=original.columns[-1],
        attacks=False,
        **kwargs,
    )


def test_a_set_of_categories_counts_as_uniform_over_it():
    original = pd.DataFrame({"sex": ["f", "f", "f", "m"], "y": ["a", "b", "a", "b"]})
    release = pd.DataFrame(
        {
            "sex=f": [True] * 4,
            "sex=m": [True] * 4,
            "y=a": original["y"].eq("a").to_numpy(),
            "y=b": original["y"].eq("b").to_numpy(),
        }
    )
    audit = _audit(original, release, "generalization")
    sex, y = audit.marginals
    np.testing.assert_allclose(sex.released, [0.5, 0.5])
    assert sex.tvd == pytest.approx(0.25)  # |0.75 - 0.5|
    assert y.tvd == 0.0
    assert audit.utility["mean_tvd"] == pytest.approx(0.125)
    # The joint of (sex, y): released uniform over sex within each y.
    joint_leaky = np.array([[0.5, 0.25], [0.0, 0.25]])  # rows f, m; columns a, b
    joint_released = np.array([[0.25, 0.25], [0.25, 0.25]])
    expected = 0.5 * np.abs(joint_leaky - joint_released).sum()
    assert audit.utility["mean_pairwise_tvd"] == pytest.approx(expected)


def test_an_integer_range_counts_as_uniform_over_its_integers():
    # Ten ages, one per decile bin.
    original = pd.DataFrame({"age": np.arange(10), "y": ["a"] * 10})
    whole = pd.DataFrame({"age_min": [0] * 10, "age_max": [9] * 10, "y=a": True})
    assert _audit(original, whole, "generalization").marginals[0].tvd == 0.0
    half = pd.DataFrame({"age_min": [0] * 10, "age_max": [4] * 10, "y=a": True})
    age = _audit(original, half, "generalization").marginals[0]
    np.testing.assert_allclose(age.released, [0.2] * 5 + [0.0] * 5)
    assert age.tvd == pytest.approx(0.5)


def _as_point_generalization(table: pd.DataFrame, categories: dict) -> pd.DataFrame:
    """``table`` in the generalization scheme, every cell a single value."""
    columns = {}
    for label in table.columns:
        if label in categories:
            for category in categories[label]:
                columns[f"{label}={category}"] = table[label].eq(category).to_numpy()
        else:
            columns[f"{label}_min"] = table[label].to_numpy()
            columns[f"{label}_max"] = table[label].to_numpy()
    return pd.DataFrame(columns)


def test_ranges_of_single_points_give_the_binned_figures(adult):
    """The spread distributions of a generalization agree with the shared
    binned TVD when every range is a point."""
    original, _ = split_control(adult, 0.2, seed=0)
    other = original.sample(frac=1.0, replace=True, random_state=1).reset_index(
        drop=True
    )
    nominal = original.select_dtypes(exclude="number").columns
    categories = {
        label: sorted(set(original[label]) | set(other[label])) for label in nominal
    }
    as_points = _audit(
        original, _as_point_generalization(other, categories), "generalization"
    )
    as_same = _audit(original, other, "same")
    assert as_same.utility["mean_tvd"] > 0.01  # a real difference to measure
    assert as_points.utility["mean_tvd"] == pytest.approx(
        as_same.utility["mean_tvd"], abs=1e-12
    )
    assert as_points.utility["mean_pairwise_tvd"] == pytest.approx(
        as_same.utility["mean_pairwise_tvd"], abs=1e-12
    )


def test_a_release_that_breaks_its_scheme_is_refused(adult):
    original, _ = split_control(adult, 0.2, seed=0)
    release, _ = MondrianKAnonymizer(QUASI_IDENTIFIERS, k=10).anonymize(original)
    with pytest.raises(ValueError, match="age_max"):
        _audit(original, release.drop(columns=["age_max"]), "generalization")
    with pytest.raises(ValueError, match="unknown scheme 'pixels'"):
        _audit(original, release, "pixels")
