"""DPSynthesizer: the released table's shape, dtypes, budget and utility.

Two real fits (smartnoise-synth's MST) are shared by the module: one at a
large epsilon on a census-like table, one at epsilon 1 on a table of many
dtypes with some public bounds. Bad input is rejected before any fit.
"""

from __future__ import annotations

import json
import logging
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("snsynth")

from sklearn.exceptions import NotFittedError

from anomed_anonymizer.tabular.synthesis import DPSynthesizer

CATEGORICAL = ["sex", "education", "employed"]
NUMERIC = ["age", "income"]


def people_table(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """A census-like table; income grows with age and education."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    education = rng.choice(
        ["school", "bachelor", "master", "phd"], n, p=[0.5, 0.3, 0.15, 0.05]
    )
    bonus = pd.Series(education).map(
        {"school": 0, "bachelor": 8000, "master": 15000, "phd": 20000}
    )
    income = 15000 + 600 * (age - 18) + bonus.to_numpy() + rng.normal(0, 4000, n)
    return pd.DataFrame(
        {
            "age": age,
            "income": np.round(income, 2),
            "sex": rng.choice(["female", "male"], n),
            "education": education,
            "employed": rng.random(n) < 0.7,
        }
    )


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return people_table()


@pytest.fixture(scope="module")
def loose(people):
    """A release at epsilon 10: little noise, so marginals must be close."""
    synth = DPSynthesizer(epsilon=10.0, random_state=0)
    anon, scheme = synth.anonymize(people)
    return synth, anon, scheme


def mixed_table(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": pd.array(rng.integers(18, 90, n), dtype="Int64"),
            "height": rng.normal(170, 10, n).astype(np.float32),
            "visits": rng.integers(0, 200, n).astype(np.uint8),
            "city": pd.Series(rng.choice(["Bonn", "Kiel", "Essen"], n), dtype=object),
            "plan": pd.Categorical(
                rng.choice(["basic", "plus"], n), categories=["plus", "basic", "gold"]
            ),
            "smoker": pd.array(rng.random(n) < 0.3, dtype="boolean"),
            "children": rng.integers(0, 4, n),
            "country": ["DE"] * n,
        }
    )


@pytest.fixture(scope="module")
def strict():
    """A release at epsilon 1 of many dtypes that takes all three private
    steps: bounds (visits), categories (country) and the synthesizer."""
    table = mixed_table()
    synth = DPSynthesizer(
        epsilon=1.0,
        preprocessor_eps=0.3,
        categorical_columns=["children"],
        bounds={"age": (0, 120)},
        domains={
            "height": (100, 250),
            "city": ["Bonn", "Kiel", "Essen"],
            "children": [0, 1, 2, 3],
            # plan's dtype is a codebook ("gold" is unused): public.
            "plan": "dtype",
        },
        n_rows=400,
        random_state=1,
    )
    np.random.seed(12345)
    state_before = np.random.get_state()[1].copy()
    anon, scheme = synth.anonymize(table)
    state_after = np.random.get_state()[1].copy()
    return synth, table, anon, scheme, (state_before, state_after)


# -- the released table ------------------------------------------------------


def test_same_columns_dtypes_and_row_count(people, loose):
    _, anon, scheme = loose
    assert scheme == "same"
    assert list(anon.columns) == list(people.columns)
    assert anon.dtypes.equals(people.dtypes)
    assert len(anon) == len(people)
    assert anon.index.equals(pd.RangeIndex(len(people)))
    assert not anon.isna().any().any()


def test_many_dtypes_kept_and_n_rows(strict):
    _, table, anon, _, _ = strict
    assert list(anon.columns) == list(table.columns)
    assert anon.dtypes.equals(table.dtypes), anon.dtypes
    assert len(anon) == 400
    assert list(anon["plan"].cat.categories) == ["plus", "basic", "gold"]
    assert set(anon["children"]) <= set(table["children"])
    assert set(anon["city"]) <= {"Bonn", "Kiel", "Essen", "other"}
    # 600 rows of "DE" pass the private selection (threshold about 35 rows)
    # with probability 1 - 1e-70; "other" is the only other possible value.
    assert "DE" in set(anon["country"])
    assert set(anon["country"]) <= {"DE", "other"}
    # Public bounds hold; uint8 stays within its range by construction.
    assert anon["age"].between(0, 120).all()
    assert anon["height"].between(100, 250).all()


def test_values_come_from_the_domain(people, loose):
    synth, anon, _ = loose
    for label in CATEGORICAL:
        # Selected categories, or "other" for the values that were not
        # selected (none here, but the synthesizer may emit it).
        assert set(anon[label]) <= {*people[label], "other"}, label
    for label in NUMERIC:
        bins = synth.report_["columns"][label]
        assert bins["kind"] == "binned" and bins["bounds"] == "dp"
        assert anon[label].between(bins["lower"], bins["upper"]).all(), label
    # Integers are spread within bins, not collapsed to bin midpoints.
    assert anon["age"].nunique() > 20


# -- budget ------------------------------------------------------------------


def test_budget_within_epsilon(loose):
    synth, _, _ = loose
    report = synth.report_
    assert 0 < report["epsilon_spent"] <= 10.0 + 1e-9
    assert report["epsilon_spent"] == pytest.approx(
        report["epsilon_preprocessing"]
        + report["epsilon_selection"]
        + report["epsilon_synthesizer"]
    )
    # The default shares: 0.2 of epsilon for bounds, 0.3 for the categories
    # of the two string columns.
    assert report["epsilon_preprocessing"] == pytest.approx(2.0)
    assert report["epsilon_selection"] == pytest.approx(3.0)
    assert report["synthesizer"] == "mst"
    assert report["n_rows"] == 1000
    assert report["delta"] == pytest.approx(1000**-1.5)


def test_public_bounds_cost_nothing(strict):
    synth, _, _, _, _ = strict
    report = synth.report_
    assert 0 < report["epsilon_spent"] <= 1.0 + 1e-9
    assert report["epsilon_preprocessing"] == pytest.approx(0.3)
    columns = report["columns"]
    age = dict(columns["age"])
    assert 0.0 <= age.pop("outside_share") <= 1.0
    assert age == {
        "kind": "binned",
        "n_bins": 10,
        "lower": 0.0,
        "upper": 120.0,
        "bounds": "declared",
    }
    assert columns["visits"]["bounds"] == "dp"
    assert columns["children"] == {
        "kind": "categorical",
        "domain": "declared",
        "n_categories": 4,
        "other": None,
        "outside_share": None,
    }
    # A bool dtype fixes its categories, and plan's are declared "dtype":
    # nothing to select.
    assert columns["plan"]["domain"] == "dtype"
    assert columns["smoker"]["domain"] == "dtype"
    assert synth.domains_["plan"] == ["plus", "basic", "gold"]
    assert synth.domains_["smoker"] == [False, True]
    assert columns["country"]["domain"] == "selected"


def test_budget_record_is_json_and_holds_no_utility(strict):
    synth, _, _, _, _ = strict
    record = synth.budget_record()
    assert json.loads(json.dumps(record)) == record
    assert record["epsilon"] == synth.report_["epsilon_spent"]
    assert record["delta"] == synth.report_["delta"]
    assert record["n_rows"] == 400
    assert sum(step["epsilon"] for step in record["steps"]) == pytest.approx(
        record["epsilon"]
    )
    assert [step["step"] for step in record["steps"]] == [
        "bounds",
        "categories",
        "synthesizer",
    ]
    assert record["steps"][0]["columns"] == ["visits"]
    assert list(record["steps"][1]["columns"]) == ["country"]
    assert "tvd" not in json.dumps(record)


def test_budget_record_before_anonymize():
    with pytest.raises(NotFittedError, match=r"call anonymize\(\) first"):
        DPSynthesizer().budget_record()


def test_global_numpy_state_is_restored(strict):
    *_, (before, after) = strict
    np.testing.assert_array_equal(before, after)


# -- utility -----------------------------------------------------------------


def test_utility_figures_in_range(loose, strict):
    for synth in (loose[0], strict[0]):
        report = synth.report_
        assert set(report["tvd"]) == {str(c) for c in report["columns"]}
        for value in [
            *report["tvd"].values(),
            report["mean_tvd"],
            report["max_tvd"],
            report["mean_pairwise_tvd"],
        ]:
            assert 0.0 <= value <= 1.0
        assert report["max_tvd"] >= report["mean_tvd"]
    assert 0.0 <= loose[0].report_["max_abs_correlation_difference"] <= 2.0


def test_marginals_close_at_large_epsilon(loose):
    # Six unseeded runs gave TVDs of at most 0.007 (categorical) and 0.02
    # (binned), correlation differences of at most 0.07: the bounds leave
    # room for noise but fail a synthesizer that ignores the data.
    report = loose[0].report_
    for label in CATEGORICAL:
        assert report["tvd"][label] < 0.05, (label, report["tvd"])
    for label in NUMERIC:
        assert report["tvd"][label] < 0.08, (label, report["tvd"])
    assert report["mean_tvd"] < 0.05
    # Age and income are strongly correlated; MST keeps the pair.
    assert report["max_abs_correlation_difference"] < 0.2


def test_correlation_kept_in_the_table(people, loose):
    _, anon, _ = loose
    before = people["age"].corr(people["income"])
    after = anon["age"].corr(anon["income"])
    assert before > 0.6
    assert after > 0.55


# -- bad input ---------------------------------------------------------------


@pytest.fixture
def small() -> pd.DataFrame:
    return people_table(60, seed=3)


def _with(table: pd.DataFrame, **columns) -> pd.DataFrame:
    table = table.copy()
    for label, values in columns.items():
        table[label] = values
    return table


LACKS = r"categorical_columns names columns the table lacks: \['nope'\]"
# The dtype is str on pandas 3, object on pandas 2.
NOT_NUMERIC = (
    r"continuous_columns names column 'sex' of dtype \w+, which is not numeric"
)
BOTH_LISTS = r"both categorical_columns and continuous_columns: \['age'\]"
NO_BOUNDS = r"preprocessor_eps=0, but the numeric columns \['age', 'income'\]"
BAD_PAIR = r"bounds\['age'\] must be finite with lower < upper, got \(50.0, 10.0\)"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epsilon": 0}, "epsilon must be a positive number, got 0.0"),
        ({"epsilon": -1.0}, "epsilon must be a positive number, got -1.0"),
        ({"epsilon": float("nan")}, "epsilon must be a positive number, got nan"),
        ({"epsilon": "1"}, r"epsilon must be a positive number, got '1' \(str\)"),
        ({"delta": 0.0}, r"delta must lie in \(0, 1\), got 0.0"),
        ({"delta": 1.0}, r"delta must lie in \(0, 1\), got 1.0"),
        ({"delta": -1e-5}, r"delta must lie in \(0, 1\)"),
        ({"synthesizer": "dpctgan"}, "synthesizer must be one of 'mst', 'aim'"),
        (
            {"preprocessor_eps": 1.0},
            r"preprocessor_eps=1.0 \(bounds\) and selection_eps=0.3 \(categories\) "
            "leave less than 0.01 of epsilon=1.0",
        ),
        ({"preprocessor_eps": -0.1}, "preprocessor_eps must be >= 0"),
        ({"preprocessor_eps": 0}, NO_BOUNDS),
        ({"n_rows": 0}, "n_rows must be at least 1, got 0"),
        ({"n_bins": 1}, "n_bins must be at least 2, got 1"),
        ({"random_state": 1.5}, r"random_state must be an integer, got 1.5"),
        ({"random_state": -1}, "random_state must be at least 0, got -1"),
        (
            {"random_state": 2**32},
            r"random_state=4294967296 is larger than 2\*\*32 - 1",
        ),
        ({"categorical_columns": ["nope"]}, LACKS),
        ({"continuous_columns": ["sex"]}, NOT_NUMERIC),
        ({"categorical_columns": "age", "continuous_columns": ["age"]}, BOTH_LISTS),
        ({"bounds": {"age": (50, 10)}}, BAD_PAIR),
        ({"bounds": {"age": "wide"}}, r"bounds\['age'\] must be a pair of numbers"),
        (
            {"bounds": {"sex": (0, 1)}},
            "bounds names column 'sex', which is not a binned",
        ),
        ({"bounds": {"weight": (0, 1)}}, "column 'weight', which the table lacks"),
    ],
)
def test_bad_parameters(small, params, message):
    with pytest.raises(ValueError, match=message):
        DPSynthesizer(**params).anonymize(small)


def test_empty_table(small):
    with pytest.raises(ValueError, match=r"table is empty \(0 rows, 5 columns\)"):
        DPSynthesizer().anonymize(small.iloc[:0])
    with pytest.raises(ValueError, match="table is empty"):
        DPSynthesizer().anonymize(pd.DataFrame())


def test_single_row(small):
    with pytest.raises(
        ValueError, match="table has 1 row; DPSynthesizer needs at least 2"
    ):
        DPSynthesizer().anonymize(small.iloc[:1])


def test_not_a_dataframe(small):
    with pytest.raises(TypeError, match="table must be a pandas DataFrame"):
        DPSynthesizer().anonymize(small.to_numpy())


def test_missing_values_named_with_count(small):
    income = small["income"].copy()
    income.iloc[[1, 5, 7]] = np.nan
    with pytest.raises(ValueError, match=r"column 'income' has 3 missing value\(s\)"):
        DPSynthesizer().anonymize(_with(small, income=income))
    sex = small["sex"].astype(object)
    sex.iloc[0] = None
    with pytest.raises(ValueError, match=r"column 'sex' has 1 missing value\(s\)"):
        DPSynthesizer().anonymize(_with(small, sex=sex))


def test_infinite_values(small):
    income = small["income"].copy()
    income.iloc[2] = np.inf
    with pytest.raises(ValueError, match=r"column 'income' has 1 infinite value\(s\)"):
        DPSynthesizer().anonymize(_with(small, income=income))


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (lambda n: pd.date_range("2020-01-01", periods=n), "datetime64"),
        (lambda n: pd.to_timedelta(np.arange(n), unit="D"), "timedelta64"),
        (lambda n: np.arange(n) + 1j, "complex128"),
        (lambda n: pd.Series(["a", 1] * (n // 2), dtype=object), r"object \(mixed"),
    ],
    ids=["datetime", "timedelta", "complex", "mixed-object"],
)
def test_unsupported_dtypes_named(small, values, dtype):
    with pytest.raises(
        ValueError, match=f"column 'when' has unsupported dtype {dtype}"
    ):
        DPSynthesizer().anonymize(_with(small, when=values(len(small))))


def test_identifier_like_column_is_released_as_other(small, caplog):
    # Every name is held by one row: the private selection keeps none (each
    # with probability below 1e-9 at this delta), so none is published.
    names = [f"person-{i}" for i in range(len(small))]
    table = pd.DataFrame({"employed": small["employed"], "name": names})
    synth = DPSynthesizer(epsilon=5.0, delta=1e-9, random_state=0)
    with caplog.at_level(logging.WARNING, logger="anomed_anonymizer.tabular"):
        anon, _ = synth.anonymize(table)
    assert set(anon["name"]) == {"other"}
    assert synth.domains_["name"] == []
    assert "no value of column 'name' passed the private selection" in caplog.text


def test_numeric_categorical_column_without_kept_values(small):
    codes = np.arange(len(small)) % 30
    with pytest.raises(
        ValueError,
        match="no value of the numeric column 'code' passed the private selection",
    ):
        DPSynthesizer(
            categorical_columns=["code"],
            delta=1e-9,
            domains={"age": (0, 120), "income": (0, 100_000)},
        ).anonymize(_with(small, code=codes))


def test_declared_domain_larger_than_max_categories(small):
    codes = np.arange(len(small)) % 30
    with pytest.raises(
        ValueError,
        match=r"domains\['code'\] declares 30 categories, more than max_categories=20",
    ):
        DPSynthesizer(
            categorical_columns=["code"],
            max_categories=20,
            domains={"code": list(range(30))},
        ).anonymize(_with(small, code=codes))


def test_private_bounds_need_enough_rows(small):
    # 60 rows cannot outweigh Laplace noise of scale 1 / 0.01.
    with pytest.raises(
        ValueError, match="could not estimate the bounds of column 'age'"
    ):
        DPSynthesizer(epsilon=0.1).anonymize(small)


def test_missing_extra_gives_install_hint(small, monkeypatch):
    monkeypatch.setitem(sys.modules, "snsynth", None)
    with pytest.raises(ImportError, match=r"needs the 'synth' extra: pip install"):
        DPSynthesizer().anonymize(small)
