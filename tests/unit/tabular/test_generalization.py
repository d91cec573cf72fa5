"""MondrianKAnonymizer: guarantees read off the released table, and the algorithm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.tabular import (
    MondrianKAnonymizer,
    adult_like,
    discernibility_metric,
    normalized_certainty_penalty,
)

from ._helpers import assert_generalization_guarantees, classes_of, is_numeric

QIS = ["age", "height", "city", "smoker", "plan"]


def reference_mondrian(table, qis, k, sensitive=None, l=None):  # noqa: E741
    """A plain recursive transcription of the documented algorithm.

    Returns the equivalence classes as a set of frozensets of row positions.
    Nominal columns must hold strings (ties in frequency break lexically).
    """
    numeric = {q: is_numeric(table[q]) for q in qis}
    columns = {q: table[q].to_numpy() for q in qis}
    secret = None if sensitive is None else table[sensitive].to_numpy()

    def width(rows, q):
        values = columns[q][rows]
        if numeric[q]:
            full = columns[q].max() - columns[q].min()
            return (values.max() - values.min()) / full if full > 0 else 0.0
        n_here = len(set(values))
        return n_here / len(set(columns[q])) if n_here > 1 else 0.0

    def sort_keys(rows, q):
        values = columns[q][rows]
        if numeric[q]:
            return values
        counts = pd.Series(values).value_counts()
        order = sorted(counts.index, key=lambda c: (-counts[c], c))
        rank = {c: i for i, c in enumerate(order)}
        return np.array([rank[v] for v in values])

    def allowed(left, right):
        if len(left) < k or len(right) < k:
            return False
        if l is None:
            return True
        return len(set(secret[left])) >= l and len(set(secret[right])) >= l

    classes = []

    def recurse(rows):
        for q in sorted(qis, key=lambda q: -width(rows, q)):
            if width(rows, q) <= 0:
                break
            keys = sort_keys(rows, q)
            median = np.sort(keys)[len(keys) // 2]
            for lower in (keys < median, keys <= median):
                if allowed(rows[lower], rows[~lower]):
                    recurse(rows[lower])
                    recurse(rows[~lower])
                    return
        classes.append(frozenset(rows.tolist()))

    recurse(np.arange(len(table)))
    return set(classes)


def classes_as_sets(groups):
    groups = np.asarray(groups)
    return {frozenset(np.flatnonzero(groups == g).tolist()) for g in np.unique(groups)}


def test_scheme_and_guarantees_on_mixed_table(mixed_table):
    anon, scheme = MondrianKAnonymizer(QIS, k=6).anonymize(mixed_table)
    assert scheme == "generalization"
    assert_generalization_guarantees(anon, mixed_table, QIS, k=6)


def test_output_columns_dtypes_and_order(mixed_table):
    anon, _ = MondrianKAnonymizer(QIS, k=6).anonymize(mixed_table)
    expected = [
        "age_min",
        "age_max",
        "height_min",
        "height_max",
        "city=Berlin",
        "city=Bonn",
        "city=Essen",
        "city=Kiel",
        "smoker=False",
        "smoker=True",
        # A categorical's declared order, unused "gold" included.
        "plan=plus",
        "plan=basic",
        "plan=gold",
        "children_min",
        "children_max",
        "disease=cold",
        "disease=flu",
        "disease=hiv",
        "disease=none",
    ]
    assert list(anon.columns) == expected
    assert anon["age_min"].dtype == mixed_table["age"].dtype
    assert anon["height_max"].dtype == np.float64
    assert not anon["plan=gold"].any()
    assert all(anon[c].dtype == bool for c in expected if "=" in c)


def test_group_attribute_matches_output_classes(mixed_table):
    anonymizer = MondrianKAnonymizer(QIS, k=5)
    anon, _ = anonymizer.anonymize(mixed_table)
    assert classes_as_sets(anonymizer.group_) == classes_as_sets(
        classes_of(anon, mixed_table, QIS)
    )
    # Numbered by first appearance.
    _, first = np.unique(anonymizer.group_, return_index=True)
    assert (np.diff(first) > 0).all()


@pytest.mark.parametrize("k", [1, 2, 3, 7, 20])
def test_partition_matches_reference_implementation(mixed_table, k):
    # The reference breaks frequency ties lexically, so leave out the
    # categorical, whose declared order is not lexical.
    qis = ["age", "height", "city", "smoker", "children"]
    anonymizer = MondrianKAnonymizer(qis, k=k)
    anonymizer.anonymize(mixed_table)
    expected = reference_mondrian(mixed_table, qis, k)
    assert classes_as_sets(anonymizer.group_) == expected


@pytest.mark.parametrize("l", [2, 3, 4])
def test_l_diverse_partition_matches_reference(mixed_table, l):  # noqa: E741
    qis = ["age", "city", "children"]
    anonymizer = MondrianKAnonymizer(qis, k=4, sensitive_column="disease", l=l)
    anon, _ = anonymizer.anonymize(mixed_table)
    assert_generalization_guarantees(
        anon, mixed_table, qis, k=4, sensitive="disease", l=l
    )
    expected = reference_mondrian(mixed_table, qis, 4, sensitive="disease", l=l)
    assert classes_as_sets(anonymizer.group_) == expected


def test_l_diversity_is_a_real_constraint(mixed_table):
    # Without l some class would hold a single disease; with l=2 none does.
    qis = ["age", "city", "children"]
    plain = MondrianKAnonymizer(qis, k=2).anonymize(mixed_table)[0]
    classes = classes_of(plain, mixed_table, qis)
    assert mixed_table["disease"].groupby(classes.to_numpy()).nunique().min() == 1
    diverse = MondrianKAnonymizer(qis, k=2, sensitive_column="disease", l=2)
    anon, _ = diverse.anonymize(mixed_table)
    assert_generalization_guarantees(
        anon, mixed_table, qis, k=2, sensitive="disease", l=2
    )


def test_sensitive_column_is_not_generalized(mixed_table):
    anonymizer = MondrianKAnonymizer(QIS, k=10, sensitive_column="disease", l=3)
    anon, _ = anonymizer.anonymize(mixed_table)
    disease = anon[[c for c in anon.columns if c.startswith("disease=")]]
    assert (disease.sum(axis=1) == 1).all()
    for value in mixed_table["disease"].unique():
        assert disease.loc[mixed_table["disease"] == value, f"disease={value}"].all()


def test_k_one_releases_distinct_rows_exactly(mixed_table):
    anonymizer = MondrianKAnonymizer(QIS, k=1)
    anon, _ = anonymizer.anonymize(mixed_table)
    n_distinct = len(mixed_table[QIS].astype(str).drop_duplicates())
    assert anonymizer.report_["n_classes"] == n_distinct
    assert anonymizer.report_["ncp"] == 0.0
    np.testing.assert_array_equal(anon["age_min"], mixed_table["age"])


def test_classes_stay_below_2k_when_medians_always_split():
    # Distinct numeric values: a median split is allowed down to size < 2k.
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"x": rng.permutation(500), "y": rng.normal(size=500)})
    anonymizer = MondrianKAnonymizer(["x", "y"], k=8)
    anon, _ = anonymizer.anonymize(table)
    sizes = np.bincount(classes_of(anon, table, ["x", "y"]))
    assert sizes.min() >= 8
    assert sizes.max() < 16


def test_ties_at_the_median_fall_back_to_less_or_equal():
    # Median 3: rows < 3 (five) against rows >= 3 (five).
    table = pd.DataFrame({"x": [1, 1, 1, 1, 2, 3, 3, 3, 3, 3]})
    anon = MondrianKAnonymizer(["x"], k=5).anonymize(table)[0]
    assert anon["x_max"].tolist() == [2] * 5 + [3] * 5
    # Median 1 is also the minimum: "< 1" is empty, "<= 1" splits.
    table = pd.DataFrame({"x": [1] * 6 + [2, 3, 4, 5]})
    anon = MondrianKAnonymizer(["x"], k=4).anonymize(table)[0]
    assert anon["x_max"].tolist() == [1] * 6 + [5] * 4
    assert anon["x_min"].tolist() == [1] * 6 + [2] * 4
    # No cut leaves k rows on both sides: one class.
    anon = MondrianKAnonymizer(["x"], k=5).anonymize(table)[0]
    assert set(anon["x_min"]) == {1} and set(anon["x_max"]) == {5}


def test_nominal_split_isolates_frequent_categories():
    table = pd.DataFrame({"c": ["d"] * 3 + ["c"] * 4 + ["b"] * 5 + ["a"] * 12})
    anon = MondrianKAnonymizer(["c"], k=4).anonymize(table)[0]
    marked = anon[["c=a", "c=b", "c=c", "c=d"]].to_numpy().tolist()
    # By frequency: "a" (12 of 24 rows) against the rest, then "b" (5) against
    # "c" and "d" (4 + 3), which cannot split further with k=4.
    assert marked == (
        [[False, False, True, True]] * 7
        + [[False, True, False, False]] * 5
        + [[True, False, False, False]] * 12
    )


def test_report_matches_metric_functions(mixed_table):
    anonymizer = MondrianKAnonymizer(QIS, k=5)
    anonymizer.anonymize(mixed_table)
    report, groups = anonymizer.report_, anonymizer.group_
    sizes = np.bincount(groups)
    assert report["ncp"] == pytest.approx(
        normalized_certainty_penalty(mixed_table, QIS, groups)
    )
    assert 0 < report["ncp"] < 1
    assert report["discernibility"] == discernibility_metric(groups)
    assert report["n_classes"] == sizes.size
    assert report["mean_class_size"] == pytest.approx(len(mixed_table) / sizes.size)
    assert report["min_class_size"] == sizes.min() >= 5
    assert report["max_class_size"] == sizes.max()


def test_information_loss_grows_with_k(mixed_table):
    ncp = []
    for k in (2, 10, 40):
        anonymizer = MondrianKAnonymizer(QIS, k=k)
        anonymizer.anonymize(mixed_table)
        ncp.append(anonymizer.report_["ncp"])
    assert ncp[0] < ncp[1] < ncp[2]


def test_parameters_are_stored_as_given_and_input_is_untouched(mixed_table):
    qis = ("age", "city")
    before = mixed_table.copy()
    anonymizer = MondrianKAnonymizer(qis, k=np.int64(4))
    anonymizer.anonymize(mixed_table)
    assert anonymizer.quasi_identifiers is qis
    assert anonymizer.k == 4 and isinstance(anonymizer.k, np.int64)
    pd.testing.assert_frame_equal(mixed_table, before)


def test_single_string_names_one_quasi_identifier(mixed_table):
    anon, _ = MondrianKAnonymizer("city", k=5).anonymize(mixed_table)
    assert_generalization_guarantees(anon, mixed_table, ["city"], k=5)


def test_nullable_and_unsigned_numeric_dtypes():
    table = pd.DataFrame(
        {
            "a": pd.array(np.arange(40) % 9, dtype="Int64"),
            "b": np.arange(40, dtype=np.uint16),
            "c": pd.array([True, False] * 20, dtype="boolean"),
        }
    )
    anon, _ = MondrianKAnonymizer(["a", "b", "c"], k=4).anonymize(table)
    assert anon["a_min"].dtype == np.int64
    assert anon["b_max"].dtype == np.uint16
    assert list(anon.columns) == [
        "a_min",
        "a_max",
        "b_min",
        "b_max",
        "c=False",
        "c=True",
    ]
    assert_generalization_guarantees(
        anon, table.astype({"a": "int64", "c": bool}), ["a", "b", "c"], k=4
    )


def test_adult_like_table_with_l_diversity():
    table = adult_like(4000, seed=11)
    qis = ["age", "workclass", "education", "marital-status", "race", "sex"]
    anonymizer = MondrianKAnonymizer(qis, k=7, sensitive_column="income", l=2)
    anon, _ = anonymizer.anonymize(table)
    assert_generalization_guarantees(anon, table, qis, k=7, sensitive="income", l=2)
    assert anon.shape[1] == sum(
        2 if is_numeric(table[c]) else table[c].nunique() for c in table.columns
    )


def test_thirty_thousand_rows_eight_quasi_identifiers_is_fast():
    table = adult_like(30_000, seed=0)
    qis = [
        "age",
        "workclass",
        "education",
        "marital-status",
        "occupation",
        "race",
        "sex",
        "native-country",
    ]
    anonymizer = MondrianKAnonymizer(qis, k=10)
    anon, _ = anonymizer.anonymize(table)
    # Speed is measured by benchmarks/bench_mondrian.py, not asserted here.
    assert np.bincount(classes_of(anon, table, qis)).min() >= 10
