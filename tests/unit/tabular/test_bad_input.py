"""Both anonymizers reject bad input with a ValueError that names the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.tabular import MDAVMicroaggregator, MondrianKAnonymizer


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [23, 35, 41, 52, 29, 60, 33, 47, 38, 55],
            "weight": [61.5, 80.2, 75.0, 90.1, 55.3, 70.0, 66.6, 88.8, 72.4, 64.0],
            "city": ["Bonn", "Kiel"] * 5,
            "income": ["<=50K", ">50K"] * 5,
        }
    )


def mondrian(**params):
    return MondrianKAnonymizer(**{"quasi_identifiers": ["age", "city"], **params})


def mdav(**params):
    return MDAVMicroaggregator(**{"columns": ["age", "weight"], **params})


BOTH = pytest.mark.parametrize("make", [mondrian, mdav], ids=["mondrian", "mdav"])


@BOTH
def test_not_a_dataframe(make, table):
    with pytest.raises(TypeError, match="table must be a pandas DataFrame"):
        make().anonymize(table.to_numpy())


@BOTH
def test_empty_table(make, table):
    with pytest.raises(ValueError, match=r"table is empty \(0 rows, 4 columns\)"):
        make().anonymize(table.iloc[:0])
    with pytest.raises(ValueError, match="table is empty"):
        make().anonymize(pd.DataFrame())


@BOTH
@pytest.mark.parametrize(
    ("k", "message"),
    [
        (0, "k must be at least 1, got 0"),
        (-3, "k must be at least 1, got -3"),
        (11, r"k=11 is larger than the number of rows \(10\)"),
        (2.5, r"k must be an integer, got 2.5 \(float\)"),
        (3.0, r"k must be an integer, got 3.0 \(float\)"),
        ("3", r"k must be an integer, got '3' \(str\)"),
        (True, r"k must be an integer, got True \(bool\)"),
        (None, r"k must be an integer, got None"),
    ],
)
def test_bad_k(make, table, k, message):
    with pytest.raises(ValueError, match=message):
        make(k=k).anonymize(table)


@BOTH
def test_k_equal_to_the_number_of_rows_is_fine(make, table):
    """k = n (as a NumPy integer) is allowed and puts every row in one class:
    each released column takes one value, the whole table's range or mean."""
    anon, scheme = make(k=np.int32(10)).anonymize(table)
    assert len(anon) == len(table)
    if scheme == "generalization":
        assert anon["age_min"].tolist() == [table["age"].min()] * 10
        assert anon["age_max"].tolist() == [table["age"].max()] * 10
        assert anon[["city=Bonn", "city=Kiel"]].all().all()
    else:
        for column in ("age", "weight"):
            assert anon[column].tolist() == pytest.approx([table[column].mean()] * 10)


def test_unknown_quasi_identifier(table):
    with pytest.raises(
        ValueError,
        match=r"quasi_identifiers names columns the table lacks: \['zip'\]; "
        r"the table has \['age', 'weight', 'city', 'income'\]",
    ):
        mondrian(quasi_identifiers=["age", "zip"]).anonymize(table)


def test_unknown_mdav_column(table):
    with pytest.raises(ValueError, match=r"columns names columns .* \['height'\]"):
        mdav(columns=["height"]).anonymize(table)


@BOTH
def test_empty_and_repeated_column_lists(make, table):
    name = "quasi_identifiers" if make is mondrian else "columns"
    with pytest.raises(ValueError, match=f"{name} must name at least one column"):
        make(**{name: []}).anonymize(table)
    with pytest.raises(ValueError, match=f"{name} names columns twice: 'age'"):
        make(**{name: ["age", "age"]}).anonymize(table)


@BOTH
def test_duplicate_column_labels(make, table):
    doubled = pd.concat([table, table[["age"]]], axis=1)
    with pytest.raises(ValueError, match=r"duplicate column labels: \['age'\]"):
        make().anonymize(doubled)


@BOTH
@pytest.mark.parametrize("missing", [np.nan, None])
def test_missing_numeric_values(make, table, missing):
    table["age"] = table["age"].astype(object).where(table.index % 4 != 1, missing)
    table["age"] = pd.to_numeric(table["age"])
    with pytest.raises(
        ValueError, match=r"column 'age' has 3 missing value\(s\) \(NaN/None\)"
    ):
        make().anonymize(table)


def test_missing_nominal_value(table):
    table.loc[4, "city"] = None
    with pytest.raises(ValueError, match=r"column 'city' has 1 missing value"):
        mondrian().anonymize(table)


def test_mondrian_checks_every_column_but_mdav_only_its_own(table):
    # Mondrian re-encodes every column; MDAV copies the others untouched.
    table.loc[2, "income"] = None
    table["when"] = pd.date_range("2024-01-01", periods=10)
    with pytest.raises(ValueError, match=r"column 'income' has 1 missing value"):
        mondrian().anonymize(table)
    with pytest.raises(ValueError, match=r"column 'when' has unsupported dtype "):
        mondrian().anonymize(table.drop(2))
    anon, _ = mdav().anonymize(table)
    pd.testing.assert_series_equal(anon["when"], table["when"])


@BOTH
def test_infinite_values(make, table):
    table.loc[[1, 7], "weight"] = np.inf
    name = "quasi_identifiers" if make is mondrian else "columns"
    with pytest.raises(ValueError, match=r"column 'weight' has 2 infinite value"):
        make(**{name: ["age", "weight"]}).anonymize(table)


@BOTH
@pytest.mark.parametrize(
    ("values", "dtype_text"),
    [
        (pd.date_range("2024-01-01", periods=10), "datetime64"),
        (pd.to_timedelta(np.arange(10), unit="D"), "timedelta64"),
        (np.arange(10) + 1j, "complex128"),
        ([1, "a"] * 5, r"object \(mixed-integer values\)"),
        ([b"x"] * 10, r"object \(bytes values\)"),
    ],
)
def test_unsupported_dtypes(make, table, values, dtype_text):
    table["odd"] = values
    name = "quasi_identifiers" if make is mondrian else "columns"
    with pytest.raises(
        ValueError, match=f"column 'odd' has unsupported dtype {dtype_text}"
    ):
        make(**{name: ["age", "odd"]}).anonymize(table)


@pytest.mark.parametrize("column", ["city", "income"])
def test_mdav_rejects_nominal_columns(table, column):
    with pytest.raises(
        ValueError, match=f"column '{column}' has unsupported dtype .*expected numeric"
    ):
        mdav(columns=["age", column]).anonymize(table)


def test_mdav_rejects_bool_columns(table):
    table["member"] = table["age"] > 40
    with pytest.raises(ValueError, match="column 'member' has unsupported dtype bool"):
        mdav(columns=["member"]).anonymize(table)


def test_mdav_default_needs_a_numeric_column(table):
    with pytest.raises(ValueError, match="columns=None selects every numeric column"):
        MDAVMicroaggregator().anonymize(table[["city", "income"]])


def test_l_without_sensitive_column(table):
    with pytest.raises(ValueError, match="l is set but sensitive_column is None"):
        mondrian(l=2).anonymize(table)


@pytest.mark.parametrize(
    ("l", "message"),
    [
        (
            3,
            r"l=3 is larger than the number of distinct values \(2\) of "
            r"sensitive_column 'income'; no l-diverse release exists",
        ),
        (0, "l must be at least 1, got 0"),
        (1.5, r"l must be an integer, got 1.5 \(float\)"),
    ],
)
def test_bad_l(table, l, message):  # noqa: E741
    with pytest.raises(ValueError, match=message):
        mondrian(sensitive_column="income", l=l).anonymize(table)


def test_l_counts_distinct_numeric_sensitive_values(table):
    anonymizer = mondrian(k=2, sensitive_column="weight", l=10)
    anonymizer.anonymize(table)  # ten distinct weights: one class of all
    assert anonymizer.report_["n_classes"] == 1
    with pytest.raises(ValueError, match=r"distinct values \(10\)"):
        mondrian(k=2, sensitive_column="weight", l=11).anonymize(table)


def test_bad_sensitive_column(table):
    with pytest.raises(
        ValueError, match="sensitive_column 'disease' is not a column of the table"
    ):
        mondrian(sensitive_column="disease", l=2).anonymize(table)
    with pytest.raises(
        ValueError, match="sensitive_column 'city' is also a quasi-identifier"
    ):
        mondrian(sensitive_column="city").anonymize(table)


def test_colliding_output_names():
    # Numeric "c=x" gives "c=x_min", and so does category "x_min" of "c".
    clash = pd.DataFrame({"c": ["x_min", "y"] * 5, "c=x": range(10)})
    with pytest.raises(ValueError, match="two output columns would be named 'c=x_min'"):
        MondrianKAnonymizer(["c"], k=2).anonymize(clash)
    # Distinct labels 1 and "1" print alike.
    clash = pd.DataFrame({1: range(10), "1": range(10)})
    with pytest.raises(ValueError, match="two output columns would be named '1_min'"):
        MondrianKAnonymizer([1], k=2).anonymize(clash)
