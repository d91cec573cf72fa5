"""MDAVMicroaggregator: group sizes and means read off the released table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.emulator import adult_like
from anomed_anonymizer.tabular import (
    MDAVMicroaggregator,
    microaggregation,
    sum_of_squares,
)


def reference_mdav(x: np.ndarray, k: int) -> set[frozenset[int]]:
    """A plain transcription of MDAV on z-scored rows, as sets of positions."""
    std = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    remaining = list(range(len(z)))
    groups = []

    def farthest(pool, point):
        return pool[int(np.argmax(((z[pool] - point) ** 2).sum(axis=1)))]

    def take_nearest(center):
        pool = np.array(remaining)
        order = np.argsort(((z[pool] - z[center]) ** 2).sum(axis=1), kind="stable")
        group = pool[order[:k]].tolist()
        groups.append(frozenset(group))
        for row in group:
            remaining.remove(row)

    while len(remaining) >= 3 * k:
        pool = np.array(remaining)
        r = farthest(pool, z[pool].mean(axis=0))
        s = farthest(pool, z[r])
        take_nearest(r)
        take_nearest(s)
    if len(remaining) >= 2 * k:
        pool = np.array(remaining)
        take_nearest(farthest(pool, z[pool].mean(axis=0)))
    groups.append(frozenset(remaining))
    return set(groups)


@pytest.fixture
def numeric_table() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 103
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.6, n),
            "age": rng.integers(18, 80, n),
            "city": rng.choice(["Bonn", "Kiel"], n),
            "member": rng.random(n) < 0.5,
            "joined": pd.date_range("2020-01-01", periods=n, freq="D"),
            "score": rng.normal(size=n).astype(np.float32),
        },
        index=pd.RangeIndex(500, 500 + n),
    )


def groups_of(anon: pd.DataFrame, columns) -> np.ndarray:
    """Rows with equal aggregated values: MDAV groups (or unions of them)."""
    return anon.groupby(list(columns), sort=False).ngroup().to_numpy()


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_group_sizes_and_means_on_released_table(numeric_table, k):
    columns = ["income", "age", "score"]
    aggregator = MDAVMicroaggregator(k=k)
    anon, scheme = aggregator.anonymize(numeric_table)
    assert scheme == "microaggregation"
    assert np.bincount(groups_of(anon, columns)).min() >= k

    sizes = np.sort(np.bincount(aggregator.group_))
    # 103 rows: all groups of exactly k but one of k .. 2k-1.
    assert (sizes[:-1] == k).all()
    assert k <= sizes[-1] < 2 * k
    assert sizes.sum() == len(numeric_table)

    for column in columns:
        means = (
            numeric_table[column]
            .astype(np.float64)
            .groupby(aggregator.group_)
            .transform("mean")
        )
        np.testing.assert_allclose(anon[column].to_numpy(), means.to_numpy())
        assert anon[column].dtype == np.float64


def test_other_columns_index_and_order_are_unchanged(numeric_table):
    anon, _ = MDAVMicroaggregator(k=4).anonymize(numeric_table)
    assert list(anon.columns) == list(numeric_table.columns)
    assert anon.index.equals(numeric_table.index)
    for column in ["city", "member", "joined"]:
        pd.testing.assert_series_equal(anon[column], numeric_table[column])


def test_columns_selects_what_is_aggregated(numeric_table):
    aggregator = MDAVMicroaggregator(columns=["age"], k=6)
    anon, _ = aggregator.anonymize(numeric_table)
    pd.testing.assert_series_equal(anon["income"], numeric_table["income"])
    assert np.bincount(groups_of(anon, ["age"])).min() >= 6
    # One column: groups are runs of sorted ages, so their ranges don't overlap.
    spans = numeric_table["age"].groupby(aggregator.group_).agg(["min", "max"])
    spans = spans.sort_values("min").to_numpy()
    assert (spans[1:, 0] >= spans[:-1, 1]).all()


@pytest.mark.parametrize("k", [1, 3, 4, 9])
def test_matches_reference_implementation(numeric_table, k):
    columns = ["income", "age", "score"]
    aggregator = MDAVMicroaggregator(columns=columns, k=k)
    aggregator.anonymize(numeric_table)
    x = numeric_table[columns].to_numpy(dtype=np.float64)
    ours = {
        frozenset(np.flatnonzero(aggregator.group_ == g).tolist())
        for g in np.unique(aggregator.group_)
    }
    assert ours == reference_mdav(x, k)


def test_information_loss_in_unit_interval_and_grows_with_k(numeric_table):
    losses = []
    for k in (1, 2, 5, 20, len(numeric_table)):
        aggregator = MDAVMicroaggregator(k=k)
        aggregator.anonymize(numeric_table)
        report = aggregator.report_
        assert 0.0 <= report["information_loss"] <= 1.0
        losses.append(report["information_loss"])
    assert losses[0] == 0.0  # every row its own group
    assert losses[0] < losses[1] < losses[2] < losses[3] < losses[4]
    assert losses[4] == pytest.approx(1.0)  # one group: every row is the mean


def test_report_matches_metric_function(numeric_table):
    aggregator = MDAVMicroaggregator(k=5)
    aggregator.anonymize(numeric_table)
    report = aggregator.report_
    sse, sst = sum_of_squares(
        numeric_table, ["income", "age", "score"], aggregator.group_
    )
    assert report["sse"] == pytest.approx(sse)
    assert report["sst"] == pytest.approx(sst)
    assert report["information_loss"] == pytest.approx(sse / sst)
    sizes = np.bincount(aggregator.group_)
    assert report["n_groups"] == sizes.size
    assert (report["min_group_size"], report["max_group_size"]) == (5, 8)


def test_fewer_than_2k_rows_form_one_group():
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0, 11.0]})
    aggregator = MDAVMicroaggregator(k=3)
    anon, _ = aggregator.anonymize(table)
    assert anon["x"].tolist() == [5.4] * 5
    assert aggregator.report_["n_groups"] == 1


def test_constant_and_duplicate_rows():
    table = pd.DataFrame({"x": [7] * 9 + [1, 1, 1], "c": [3.5] * 12})
    aggregator = MDAVMicroaggregator(k=3)
    anon, _ = aggregator.anonymize(table)
    assert sorted(np.bincount(aggregator.group_)) == [3, 3, 3, 3]
    assert anon["x"].tolist() == [7.0] * 9 + [1.0] * 3
    assert (anon["c"] == 3.5).all()
    all_constant = MDAVMicroaggregator(columns=["c"], k=5)
    all_constant.anonymize(table)
    assert all_constant.report_["information_loss"] == 0.0


def test_input_is_untouched_and_parameters_stored(numeric_table):
    before = numeric_table.copy()
    columns = ("income",)
    aggregator = MDAVMicroaggregator(columns=columns, k=3)
    aggregator.anonymize(numeric_table)
    assert aggregator.columns is columns and aggregator.k == 3
    pd.testing.assert_frame_equal(numeric_table, before)


def test_adult_like_thirty_thousand_rows():
    table = adult_like(30_000, seed=2)
    aggregator = MDAVMicroaggregator(k=10)
    anon, _ = aggregator.anonymize(table)
    numeric = [c for c in table.columns if table[c].dtype.kind == "i"]
    assert len(numeric) == 6
    assert np.bincount(groups_of(anon, numeric)).min() >= 10
    assert aggregator.report_["max_group_size"] < 20
    assert 0 < aggregator.report_["information_loss"] < 0.2
    for column in table.columns.difference(numeric):
        pd.testing.assert_series_equal(anon[column], table[column])


def reference_cbfs(x: np.ndarray, k: int) -> set[frozenset[int]]:
    """A plain transcription of CBFS (MDAV with the mean of all rows fixed),
    which ``method="knn"`` computes with k-d trees."""
    std = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    remaining = set(range(len(z)))
    groups = []
    for r in np.argsort(-(z**2).sum(axis=1), kind="stable").tolist():
        if len(remaining) < 2 * k:
            break
        if r not in remaining:
            continue
        pool = np.array(sorted(remaining - {r}))
        nearest = pool[np.argsort(((z[pool] - z[r]) ** 2).sum(axis=1))[: k - 1]]
        group = {r, *nearest.tolist()}
        groups.append(frozenset(group))
        remaining -= group
    if remaining:
        groups.append(frozenset(remaining))
    return set(groups)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 10])
def test_knn_method_matches_reference_cbfs(numeric_table, k):
    columns = ["income", "age", "score"]
    aggregator = MDAVMicroaggregator(columns=columns, k=k, method="knn")
    anon, _ = aggregator.anonymize(numeric_table)
    x = numeric_table[columns].to_numpy(dtype=np.float64)
    ours = {
        frozenset(np.flatnonzero(aggregator.group_ == g).tolist())
        for g in np.unique(aggregator.group_)
    }
    assert ours == reference_cbfs(x, k)
    sizes = np.sort(np.bincount(groups_of(anon, columns)))
    assert sizes.min() >= k
    assert (sizes[:-1] == k).all() and sizes[-1] < 2 * k


def test_knn_method_on_duplicates_keeps_every_group_of_k():
    # Many equal rows: neighbour lists are all ties, and the batched lists
    # run out of ungrouped rows, so the live tree answers.
    rng = np.random.default_rng(3)
    table = pd.DataFrame(
        {"x": rng.integers(0, 3, 2_000), "y": rng.integers(0, 2, 2_000)}
    )
    aggregator = MDAVMicroaggregator(k=7, method="knn")
    anon, _ = aggregator.anonymize(table)
    sizes = np.bincount(aggregator.group_)
    assert sizes.min() >= 7 and sizes.max() < 14 and sizes.sum() == 2_000
    assert np.bincount(groups_of(anon, ["x", "y"])).min() >= 7


def test_knn_method_loses_about_what_exact_mdav_loses():
    table = adult_like(20_000, seed=4)
    losses = {}
    for method in ("exact", "knn"):
        aggregator = MDAVMicroaggregator(k=5, method=method)
        aggregator.anonymize(table)
        losses[method] = aggregator.report_["information_loss"]
        assert aggregator.report_["min_group_size"] == 5
    assert losses["knn"] <= 1.1 * losses["exact"]


def test_unknown_method_is_refused(numeric_table):
    with pytest.raises(
        ValueError, match="method must be one of 'auto', 'exact', 'knn'"
    ):
        MDAVMicroaggregator(method="fast").anonymize(numeric_table)


@pytest.mark.parametrize("n_rows, expected", [(60, "exact"), (61, "knn")])
def test_auto_method_is_exact_up_to_the_threshold_and_knn_above(
    monkeypatch, n_rows, expected
):
    monkeypatch.setattr(microaggregation, "AUTO_EXACT_MAX_ROWS", 60)
    rng = np.random.default_rng(11)
    table = pd.DataFrame(
        {"x": rng.lognormal(size=n_rows), "y": rng.integers(0, 4, n_rows)}
    )
    auto = MDAVMicroaggregator(k=4)
    anon, _ = auto.anonymize(table)
    assert auto.method == "auto"
    assert auto.method_ == expected and auto.report_["method"] == expected
    chosen = MDAVMicroaggregator(k=4, method=expected)
    chosen_anon, _ = chosen.anonymize(table)
    np.testing.assert_array_equal(auto.group_, chosen.group_)
    pd.testing.assert_frame_equal(anon, chosen_anon)


def test_auto_threshold_is_documented_default():
    assert microaggregation.AUTO_EXACT_MAX_ROWS == 20_000
    assert MDAVMicroaggregator().method == "auto"


def skewed_table(n_rows: int, seed: int) -> pd.DataFrame:
    """Heavy tails and heavy ties: what the k-d tree must stay correct on."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 1.0, n_rows),
            "dose": rng.gamma(0.5, 20.0, n_rows),
            "visits": rng.poisson(2.0, n_rows),
            "age": rng.integers(18, 90, n_rows),
            "children": rng.poisson(0.3, n_rows),
            "ward": rng.choice(["a", "b"], n_rows),
        },
        index=pd.RangeIndex(7, 7 + n_rows),
    )


@pytest.mark.parametrize("method", ["auto", "exact", "knn"])
@pytest.mark.parametrize("k", [3, 5])
def test_skewed_tied_columns_keep_groups_of_k_and_the_representation(method, k):
    table = skewed_table(3_001, seed=k)
    numeric = ["income", "dose", "visits", "age", "children"]
    aggregator = MDAVMicroaggregator(k=k, method=method)
    anon, _ = aggregator.anonymize(table)
    sizes = np.sort(np.bincount(aggregator.group_))
    assert sizes.sum() == len(table)
    assert (sizes[:-1] == k).all() and k <= sizes[-1] < 2 * k
    assert np.bincount(groups_of(anon, numeric)).min() >= k
    assert anon.shape == table.shape and list(anon.columns) == list(table.columns)
    assert anon.index.equals(table.index)
    assert (anon[numeric].dtypes == np.float64).all()
    pd.testing.assert_series_equal(anon["ward"], table["ward"])
    for column in numeric:
        means = table[column].astype(np.float64).groupby(aggregator.group_)
        np.testing.assert_allclose(anon[column], means.transform("mean"))


def test_knn_loses_about_what_exact_loses_on_skewed_columns():
    table = skewed_table(6_000, seed=2)
    losses = {}
    for method in ("exact", "knn"):
        aggregator = MDAVMicroaggregator(k=5, method=method)
        aggregator.anonymize(table)
        losses[method] = aggregator.report_["information_loss"]
    assert losses["knn"] <= 1.1 * losses["exact"]
