"""Output checks shared by the tabular anonymizer tests.

The checks read the guarantees off the released table itself (and the
original), never off the anonymizer's internal state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(
        column
    )


def generalized_columns(anon: pd.DataFrame, table: pd.DataFrame, label) -> list[str]:
    """The output columns that represent input column ``label``."""
    if is_numeric(table[label]):
        return [f"{label}_min", f"{label}_max"]
    return [c for c in anon.columns if c.startswith(f"{label}=")]


def classes_of(anon: pd.DataFrame, table: pd.DataFrame, qis) -> pd.Series:
    """Equivalence class of each row: rows with equal generalized QI columns."""
    columns = [c for q in qis for c in generalized_columns(anon, table, q)]
    return anon.groupby(columns, sort=False).ngroup()


def assert_generalization_guarantees(
    anon: pd.DataFrame,
    table: pd.DataFrame,
    qis,
    k: int,
    sensitive=None,
    l=None,  # noqa: E741
) -> None:
    assert len(anon) == len(table)
    assert anon.index.equals(table.index)
    classes = classes_of(anon, table, qis).to_numpy()
    sizes = np.bincount(classes)
    assert sizes.min() >= k, f"a class has {sizes.min()} < k={k} rows"
    if l is not None:
        diversity = (
            pd.Series(table[sensitive].to_numpy()).groupby(classes).nunique().min()
        )
        assert diversity >= l, f"a class has {diversity} < l={l} sensitive values"

    for label in table.columns:
        column = table[label]
        if is_numeric(column):
            own = column.to_numpy()
            lo = anon[f"{label}_min"].to_numpy()
            hi = anon[f"{label}_max"].to_numpy()
            assert np.all(lo <= own) and np.all(own <= hi), label
            if label in qis:
                # The range is the class's own: both ends are attained.
                by_class = pd.Series(own).groupby(classes)
                np.testing.assert_array_equal(by_class.transform("min"), lo)
                np.testing.assert_array_equal(by_class.transform("max"), hi)
            else:
                np.testing.assert_array_equal(lo, own)
                np.testing.assert_array_equal(hi, own)
        else:
            indicators = anon[generalized_columns(anon, table, label)]
            assert all(dt == np.dtype(bool) for dt in indicators.dtypes), label
            names = np.array([c.split("=", 1)[1] for c in indicators.columns])
            marks = indicators.to_numpy()
            own = column.astype(str).to_numpy()
            is_own = own[:, None] == names[None, :]
            assert is_own.sum(axis=1).tolist() == [1] * len(table), label
            # The row's own category is always marked ...
            assert marks[is_own].all(), label
            if label in qis:
                # ... and so is every other category of its class, and no more.
                in_class = pd.DataFrame(is_own).groupby(classes).any().to_numpy()
                np.testing.assert_array_equal(marks, in_class[classes], label)
            else:
                np.testing.assert_array_equal(marks, is_own, label)
