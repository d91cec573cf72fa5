"""Information-loss measures for anonymized tables.

All measures take the *original* table and a per-row group id (the equivalence
class of a generalization, the group of a microaggregation), so that the
release of any anonymizer, ours or another library's, is scored by the same
code on the same footing.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ._checks import check_groups, check_table, encode_column, numeric_values

__all__ = [
    "discernibility_metric",
    "normalized_certainty_penalty",
    "sum_of_squares",
]


def _group_min_max(
    values: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the minimum and maximum of ``values`` within each group.

    ``groups`` must be dense (``0 .. n_groups-1``, every id used); the results
    keep the dtype of ``values``.
    """
    # Sorting rows by group once turns each per-group reduction into one
    # ufunc.reduceat call instead of a Python loop over groups.
    order = np.argsort(groups, kind="stable")
    starts = np.concatenate(([0], np.cumsum(np.bincount(groups))[:-1]))
    ordered = values[order]
    return np.minimum.reduceat(ordered, starts), np.maximum.reduceat(ordered, starts)


def _group_category_counts(codes: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Return how many distinct codes each (dense) group holds."""
    n_codes = int(codes.max()) + 1
    pairs = np.unique(groups.astype(np.int64) * n_codes + codes)
    return np.bincount(pairs // n_codes, minlength=int(groups.max()) + 1)


def normalized_certainty_penalty(
    table: pd.DataFrame,
    quasi_identifiers: Sequence[Hashable],
    groups: Sequence[int] | np.ndarray,
) -> float:
    """Global normalized certainty penalty (NCP) of a partition into classes.

    Each row releases, for every quasi-identifier, its class's range (numeric)
    or set of categories (nominal). Following Xu et al. (2006), the penalty of
    a numeric value is ``(class max - class min) / (table max - table min)``
    and that of a nominal value is ``0`` if the class holds one category and
    ``(categories in class) / (categories in table)`` otherwise (a flat
    hierarchy, whose only generalization of several categories is their set).
    The result is the mean penalty over all rows and quasi-identifiers (Ghinita
    et al. 2007's global certainty penalty): ``0`` releases the table as is,
    ``1`` releases nothing but the quasi-identifiers' domains.

    Parameters
    ----------
    table : pandas.DataFrame
        The original (not anonymized) table.
    quasi_identifiers : sequence of Hashable
        The generalized columns; numeric or nominal, without missing values.
    groups : array-like of int, shape (n_rows,)
        The equivalence class of each row of ``table``.

    Returns
    -------
    float
        The global NCP, in ``[0, 1]``.

    Raises
    ------
    ValueError
        On an invalid table or column (see ``check_table``) or if ``groups``
        is not one integer per row.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"age": [20, 30, 40, 60], "sex": ["f", "m", "f", "f"]})
    >>> normalized_certainty_penalty(table, ["age", "sex"], [0, 0, 1, 1])
    0.4375
    >>> normalized_certainty_penalty(table, ["age", "sex"], [0, 1, 2, 3])
    0.0

    With classes ``{0, 1}`` and ``{2, 3}`` the age ranges are 10 and 20 of
    the table's 40 (penalties 0.25 and 0.5), the first class holds both sexes
    (penalty 1) and the second only "f" (penalty 0): the mean over the eight
    released values is ``(2 * 0.25 + 2 * 0.5 + 2 * 1 + 2 * 0) / 8 = 0.4375``.
    """
    kinds = check_table(table, quasi_identifiers, parameter="quasi_identifiers")
    encoded = [encode_column(table[label], kind) for label, kind in kinds.items()]
    return _ncp(encoded, check_groups(groups, len(table)))


def _ncp(encoded: list[tuple[np.ndarray, pd.Index | None]], dense: np.ndarray) -> float:
    # The unchecked core: `encoded` holds what `encode_column` returns.
    sizes = np.bincount(dense)
    total = 0.0
    for values, categories in encoded:
        if categories is None:
            values = values.astype(np.float64)
            domain = values.max() - values.min()
            if domain == 0:
                continue
            lo, hi = _group_min_max(values, dense)
            total += float(np.dot(sizes, hi - lo)) / domain
        else:
            n_present = np.unique(values).size
            if n_present <= 1:
                continue
            counts = _group_category_counts(values, dense)
            penalty = np.where(counts > 1, counts / n_present, 0.0)
            total += float(np.dot(sizes, penalty))
    return float(total / (dense.size * len(encoded)))


def discernibility_metric(groups: Sequence[int] | np.ndarray) -> int:
    """Discernibility metric (Bayardo & Agrawal 2005): the sum of squared class sizes.

    Each row is charged the size of its class, the number of rows it cannot be
    told apart from; lower is better, ``n_rows`` is the minimum (every row its
    own class) and ``n_rows**2`` the maximum.

    Parameters
    ----------
    groups : array-like of int, shape (n_rows,)
        The equivalence class of each row.

    Returns
    -------
    int
        ``sum(size**2 for each class)``.

    Raises
    ------
    ValueError
        If ``groups`` is not a 1-D integer array.

    Examples
    --------
    >>> discernibility_metric([0, 0, 1, 1, 1])
    13
    """
    array = np.asarray(groups)
    if array.ndim != 1:
        raise ValueError(f"groups must be 1-D, got shape {array.shape}")
    dense = check_groups(array, array.shape[0])
    sizes = np.bincount(dense).astype(np.int64)
    return int(np.dot(sizes, sizes))


def sum_of_squares(
    table: pd.DataFrame,
    columns: Sequence[Hashable],
    groups: Sequence[int] | np.ndarray,
) -> tuple[float, float]:
    """Within-group and total sum of squares of standardized numeric columns.

    The columns are z-scored (population standard deviation; a constant column
    stays all zero) so that every column weighs the same whatever its unit.
    ``SSE / SST`` is the usual information loss of microaggregation
    (Domingo-Ferrer & Mateo-Sanz 2002): ``0`` when every group is a single row
    or constant, ``1`` when all rows form one group.

    Parameters
    ----------
    table : pandas.DataFrame
        The original (not aggregated) table.
    columns : sequence of Hashable
        The aggregated columns; numeric, without missing values.
    groups : array-like of int, shape (n_rows,)
        The group of each row.

    Returns
    -------
    sse : float
        Sum over rows of the squared distance to their group's mean.
    sst : float
        Sum over rows of the squared distance to the table's mean.

    Raises
    ------
    ValueError
        On an invalid table or column (see ``check_table``) or if ``groups``
        is not one integer per row.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"x": [0.0, 2.0, 10.0, 12.0]})
    >>> sse, sst = sum_of_squares(table, ["x"], [0, 0, 1, 1])
    >>> round(sse / sst, 4)
    0.0385
    """
    check_table(table, columns, parameter="columns", kinds=("numeric",))
    dense = check_groups(groups, len(table))
    return _sum_of_squares(_standardize(table, columns), dense)


def _sum_of_squares(z: np.ndarray, dense: np.ndarray) -> tuple[float, float]:
    # The unchecked core, on z-scored columns.
    sizes = np.bincount(dense).astype(np.float64)
    means = np.stack(
        [np.bincount(dense, weights=z[:, j]) / sizes for j in range(z.shape[1])],
        axis=1,
    )
    sse = float(np.sum((z - means[dense]) ** 2))
    sst = float(np.sum(z**2))  # z-scored columns have mean 0
    return sse, sst


def _standardize(table: pd.DataFrame, columns: Sequence[Hashable]) -> np.ndarray:
    """Z-score checked numeric columns into a C-contiguous float64 array."""
    z = np.column_stack(
        [numeric_values(table[c]).astype(np.float64) for c in columns]
    ).reshape(len(table), -1)
    z -= z.mean(axis=0)
    std = z.std(axis=0)
    # A constant column carries no information; dividing by 1 keeps it at 0.
    z /= np.where(std > 0, std, 1.0)
    return np.ascontiguousarray(z)
