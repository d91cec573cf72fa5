"""The numeric kernels behind every information-loss figure of this package.

The anonymizers' reports (``report_``), the public measures
(:mod:`~anomed_anonymizer.tabular.metrics`) and the emulated challenge's
scores all compute through these functions, so a figure means one thing
everywhere: what ``/fit`` reports for a release is what the emulator scores
for it, to the last bit.

The measures are *table-level*: every column of the original table counts,
and a column released exactly costs nothing. So a release is judged by what
it changed, whichever columns an anonymizer chose to generalize, and adding
an untouched column to the quasi-identifiers cannot lower a score.

- **Normalized certainty penalty** (NCP; Xu et al. 2006, Ghinita et al.
  2007): each cell of the original table is released as a set of values: a
  range ``[lo, hi]`` of a numeric column costs ``(hi - lo) / (max - min)``
  of the column, a set of ``m`` of the column's ``n`` categories costs
  ``(m - 1) / (n - 1)`` (the loss metric of Iyengar 2002 for a flat
  hierarchy: ``0`` for the value itself, ``1`` for the whole domain, linear
  in between); a constant column costs nothing. NCP is the mean over all
  cells.
- **Information loss of microaggregation** (Domingo-Ferrer & Mateo-Sanz
  2002): ``SSE / SST`` over the numeric columns, each divided by its
  (population) standard deviation so that no unit dominates; SSE sums the
  squared differences between original and released values, SST those
  between original values and their column mean.
- **Total variation distance** between two distributions of codes.

Kernels take NumPy arrays and do not validate them; the public measures in
:mod:`~anomed_anonymizer.tabular.metrics` check their input first.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "class_penalty",
    "float_values",
    "group_category_counts",
    "group_means",
    "group_ranges",
    "information_loss",
    "mean_penalty",
    "range_penalty",
    "set_penalty",
    "squared_errors",
    "total_variation_distance",
]


def float_values(column: pd.Series) -> np.ndarray:
    """A numeric column as float64, missing values as NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> float_values(pd.Series([1, None], dtype="Int64"))
    array([ 1., nan])
    """
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def group_ranges(
    values: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The minimum and maximum of ``values`` within each group.

    ``groups`` must be dense (``0 .. n_groups-1``, every id used); the results
    keep the dtype of ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> group_ranges(np.array([5, 1, 7, 3]), np.array([0, 1, 0, 1]))
    (array([5, 1]), array([7, 3]))
    """
    # Sorting rows by group once turns each per-group reduction into one
    # ufunc.reduceat call instead of a Python loop over groups.
    order = np.argsort(groups, kind="stable")
    starts = np.concatenate(([0], np.cumsum(np.bincount(groups))[:-1]))
    ordered = values[order]
    return np.minimum.reduceat(ordered, starts), np.maximum.reduceat(ordered, starts)


def group_category_counts(codes: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """How many distinct codes each (dense) group holds.

    Examples
    --------
    >>> import numpy as np
    >>> group_category_counts(np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1]))
    array([2, 2])
    """
    n_codes = int(codes.max()) + 1
    n_groups = int(groups.max()) + 1
    pairs = groups.astype(np.int64) * n_codes + codes
    if n_groups * n_codes <= 8 * codes.size + 1024:
        # A table of (group, code) marks: linear, where sorting is not.
        present = np.zeros(n_groups * n_codes, dtype=bool)
        present[pairs] = True
        return np.count_nonzero(present.reshape(n_groups, n_codes), axis=1)
    return np.bincount(np.unique(pairs) // n_codes, minlength=n_groups)


def group_means(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The mean of ``values`` (as float64) within each (dense) group.

    Examples
    --------
    >>> import numpy as np
    >>> group_means(np.array([1, 3, 10]), np.array([0, 0, 1]))
    array([ 2., 10.])
    """
    sizes = np.bincount(groups)
    return np.bincount(groups, weights=np.asarray(values, dtype=np.float64)) / sizes


def range_penalty(lo: np.ndarray, hi: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The NCP of releasing numeric cells as ranges ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : numpy.ndarray, shape (n_rows,)
        The released range of each cell.
    values : numpy.ndarray, shape (n_rows,)
        The original column, whose range (missing values ignored) is the
        domain.

    Returns
    -------
    numpy.ndarray of float64
        ``(hi - lo) / (max - min)`` per cell, clipped to ``[0, 1]``; all zero
        for a constant column.

    Examples
    --------
    >>> import numpy as np
    >>> range_penalty(np.array([20, 20]), np.array([30, 60]), np.array([20, 60]))
    array([0.25, 1.  ])
    """
    values = np.asarray(values, dtype=np.float64)
    domain = np.nanmax(values) - np.nanmin(values)
    width = np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)
    if not domain > 0:
        return np.zeros(width.shape)
    return np.clip(width / domain, 0.0, 1.0)


def set_penalty(n_marked: np.ndarray, n_categories: int) -> np.ndarray:
    """The NCP of releasing nominal cells as sets of ``n_marked`` categories
    out of the column's ``n_categories``.

    Returns
    -------
    numpy.ndarray of float64
        ``(n_marked - 1) / (n_categories - 1)`` per cell, clipped to
        ``[0, 1]``; all zero for a column of one category.

    Examples
    --------
    >>> import numpy as np
    >>> set_penalty(np.array([1, 2, 5]), 5)
    array([0.  , 0.25, 1.  ])
    """
    n_marked = np.asarray(n_marked, dtype=np.float64)
    if n_categories <= 1:
        return np.zeros(n_marked.shape)
    return np.clip((n_marked - 1.0) / (n_categories - 1), 0.0, 1.0)


def class_penalty(
    values: np.ndarray, categories: pd.Index | None, groups: np.ndarray
) -> np.ndarray:
    """The NCP of releasing each cell of a column as its class's range
    (numeric) or set of categories (nominal).

    Parameters
    ----------
    values : numpy.ndarray, shape (n_rows,)
        The column: numeric values, or nominal codes when ``categories`` is
        given (see :func:`~anomed_anonymizer.tabular._checks.encode_column`).
    categories : pandas.Index or None
        The categories the codes index; ``None`` for a numeric column.
    groups : numpy.ndarray of intp, shape (n_rows,)
        The (dense) class of each row.

    Examples
    --------
    >>> import numpy as np
    >>> class_penalty(np.array([20, 30, 40, 60]), None, np.array([0, 0, 1, 1]))
    array([0.25, 0.25, 0.5 , 0.5 ])
    """
    if categories is None:
        lo, hi = group_ranges(values, groups)
        return range_penalty(lo[groups], hi[groups], values)
    n_present = int(np.count_nonzero(np.bincount(values)))
    return set_penalty(group_category_counts(values, groups)[groups], n_present)


def mean_penalty(penalties: Iterable[np.ndarray], n_rows: int, n_columns: int) -> float:
    """The mean cell penalty of a table of ``n_rows`` x ``n_columns`` cells.

    ``penalties`` holds one array per column that costs anything, in table
    order; columns left out cost nothing.

    Examples
    --------
    >>> import numpy as np
    >>> mean_penalty([np.array([0.5, 1.0])], n_rows=2, n_columns=3)
    0.25
    """
    total = 0.0
    for column in penalties:
        total += float(np.sum(column))
    return total / (n_rows * n_columns)


def squared_errors(values: np.ndarray, released: np.ndarray) -> tuple[float, float]:
    """SSE and SST of one numeric column, in units of its standard deviation.

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n_rows,)
        The original column.
    released : numpy.ndarray of float64, shape (n_rows,)
        The released column.

    Returns
    -------
    sse : float
        Sum over cells of ``((value - released) / std) ** 2``.
    sst : float
        Sum over cells of ``((value - mean) / std) ** 2``: the number of
        non-missing cells, or ``0`` for a constant column.

    Notes
    -----
    Missing values (NaN) are left out of every sum, in ``values`` and in
    ``released`` alike.

    Examples
    --------
    >>> import numpy as np
    >>> squared_errors(np.array([0.0, 2.0]), np.array([1.0, 1.0]))
    (2.0, 2.0)
    """
    std = np.nanstd(values)
    scale = std if std > 0 else 1.0
    sse = float(np.nansum(((values - released) / scale) ** 2))
    sst = float(np.nansum(((values - np.nanmean(values)) / scale) ** 2))
    return sse, sst


def information_loss(sse: float, sst: float) -> float:
    """``SSE / SST``, in ``[0, 1]``; ``0`` when nothing varies (``SST == 0``).

    Examples
    --------
    >>> information_loss(1.0, 4.0)
    0.25
    """
    # Rounding can push SSE a hair past SST when all rows form one group.
    return min(sse / sst, 1.0) if sst > 0 else 0.0


def total_variation_distance(x: np.ndarray, y: np.ndarray, n_codes: int) -> float:
    """Total variation distance between the distributions of two code arrays.

    Parameters
    ----------
    x, y : numpy.ndarray of int
        Codes in ``0 .. n_codes-1`` (for example bins or categories).
    n_codes : int
        The number of possible codes.

    Returns
    -------
    float
        ``0.5 * sum(|p - q|)`` of the two empirical distributions, in
        ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> total_variation_distance(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    0.25
    """
    p = np.bincount(x, minlength=n_codes) / len(x)
    q = np.bincount(y, minlength=n_codes) / len(y)
    # Rounding can push the sum a hair past 1.
    return float(min(0.5 * np.abs(p - q).sum(), 1.0))
