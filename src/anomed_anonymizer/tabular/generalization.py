"""Mondrian k-anonymity (with optional distinct l-diversity) by generalization."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ..models.tabular import TabularDataAnonymizer
from ._checks import (
    ColumnKind,
    check_int,
    check_table,
    column_list,
    encode_column,
    nominal_codes,
    numeric_values,
)
from .kernels import class_penalty, group_ranges, mean_penalty

__all__ = ["MondrianKAnonymizer"]


class MondrianKAnonymizer(TabularDataAnonymizer, BaseEstimator):
    """Generalize quasi-identifiers until every row hides among ``k`` others.

    Mondrian multidimensional strict partitioning (LeFevre, DeWitt &
    Ramakrishnan 2006) splits the table recursively. A partition is split on
    the quasi-identifier of widest normalized range in it (numeric: its range
    over the table's range; nominal: its number of distinct categories over
    the table's), trying the next widest when a split is not allowed, and is
    released as an equivalence class when no quasi-identifier can be split. A
    split must leave at least ``k`` rows on both sides and, when ``l`` is set,
    at least ``l`` distinct values of ``sensitive_column`` on both sides
    (distinct l-diversity, Machanavajjhala et al. 2007).

    * A numeric quasi-identifier is split at its median ``m`` (the value of
      the partition's row of rank ``size // 2`` in sorted order) into rows
      ``< m`` and rows ``>= m``; when that split is not allowed (for instance
      because ties at the median leave the lower side too small or empty),
      into rows ``<= m`` and rows ``> m``.
    * A nominal quasi-identifier's categories are ordered by descending
      frequency in the partition (ties in category order: lexical for
      strings, declared order for pandas categoricals, ``False < True``) and
      the ordered categories are cut in half *by rows*, exactly like a numeric
      column whose values are these frequency ranks: the categories before the
      median row's category go to one side, the others to the other (if not
      allowed, the median row's category joins the first side). Frequency
      order isolates dominant categories (one category per class means no
      information loss for that column), and halving rows rather than
      categories keeps both sides large enough to split further: on the
      Adult-like benchmark this gave a quarter less NCP (with the earlier
      ``m / n`` penalty for ``m`` of ``n`` categories) than cutting the
      lexically ordered categories into halves of equal count. Either way the
      sides hold disjoint sets of categories, and the split does not depend
      on row order.

    Parameters
    ----------
    quasi_identifiers : sequence of Hashable
        The columns an attacker may know and link on; numeric or nominal. A
        single label (such as a string) stands for one column.
    k : int, default 10
        Every released equivalence class holds at least ``k`` rows.
    sensitive_column : Hashable or None, default None
        The column whose values must stay diverse within classes; never a
        quasi-identifier and never generalized. Required when ``l`` is set.
    l : int or None, default None
        If set, every class holds at least ``l`` distinct values of
        ``sensitive_column``.

    Attributes
    ----------
    group_ : numpy.ndarray of intp, shape (n_rows,)
        The equivalence class of each input row, numbered ``0, 1, ...`` in order
        of first appearance. Set by :meth:`anonymize`.
    report_ : dict
        Utility of the last release: ``"ncp"`` (normalized certainty penalty
        over every cell of the table, in ``[0, 1]``; exactly what the emulated
        challenge scores for the release, see
        :func:`~anomed_anonymizer.tabular.metrics.normalized_certainty_penalty`),
        ``"discernibility"`` (sum of squared class sizes), ``"n_classes"``,
        ``"mean_class_size"``, ``"min_class_size"`` and ``"max_class_size"``.

    Notes
    -----
    **The "generalization" representation** (the wire contract of the scheme):
    the output has the input's rows in the input's order, with the input's
    index, and for each input column, in input column order:

    * a numeric column ``c`` (integer or float dtype, not bool) becomes two
      columns ``f"{c}_min"`` and ``f"{c}_max"`` with ``c``'s dtype (nullable
      pandas dtypes become their NumPy counterpart). For a quasi-identifier they
      hold the smallest and largest value of ``c`` in the row's equivalence
      class, so ``c_min <= c <= c_max``; for any other column both equal the
      row's own value.
    * a nominal column ``c`` (bool, category, string or object-of-strings
      dtype) becomes one bool column ``f"{c}={v}"`` per category ``v`` of the
      input: the dtype's categories in declared order (unused ones included)
      for a pandas categorical, ``False`` then ``True`` for bools, the sorted
      distinct values otherwise. For a quasi-identifier a row's indicators mark
      the set of categories of its equivalence class (multi-hot; the row's own
      category is among them); for any other column exactly the row's own
      category (one-hot).

    The sensitive column is never generalized: it is encoded like any other
    column that is not a quasi-identifier. Rows with equal quasi-identifier
    columns form exactly one equivalence class (classes are disjoint boxes), so
    grouping the output on those columns recovers :attr:`group_`.

    Every column is re-encoded, so every column must be numeric or nominal and
    free of missing values; drop or impute others first.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(
    ...     {
    ...         "age": [23, 27, 35, 39, 52, 58],
    ...         "sex": ["f", "m", "f", "m", "f", "f"],
    ...         "disease": ["flu", "cold", "flu", "hiv", "cold", "flu"],
    ...     }
    ... )
    >>> anonymizer = MondrianKAnonymizer(["age", "sex"], k=3)
    >>> anon, scheme = anonymizer.anonymize(table)
    >>> scheme
    'generalization'
    >>> anon[["age_min", "age_max", "sex=f", "sex=m"]]
       age_min  age_max  sex=f  sex=m
    0       23       35   True   True
    1       23       35   True   True
    2       23       35   True   True
    3       39       58   True   True
    4       39       58   True   True
    5       39       58   True   True
    >>> anonymizer.group_
    array([0, 0, 0, 1, 1, 1])
    >>> anonymizer.report_["n_classes"], anonymizer.report_["discernibility"]
    (2, 18)
    """

    def __init__(
        self,
        quasi_identifiers: Sequence[Hashable],
        k: int = 10,
        sensitive_column: Hashable | None = None,
        l: int | None = None,  # noqa: E741 (the established name)
    ) -> None:
        self.quasi_identifiers = quasi_identifiers
        self.k = k
        self.sensitive_column = sensitive_column
        self.l = l

    def anonymize(
        self, table: pd.DataFrame
    ) -> tuple[pd.DataFrame, Literal["generalization"]]:
        """Release a k-anonymous (and l-diverse) generalization of ``table``.

        Parameters
        ----------
        table : pandas.DataFrame
            The table to anonymize; every column numeric or nominal, without
            missing values.

        Returns
        -------
        anon_table : pandas.DataFrame
            The generalized table, in the representation the class docstring
            describes.
        scheme : {"generalization"}
            The representation of ``anon_table``.

        Raises
        ------
        TypeError
            If ``table`` is not a DataFrame.
        ValueError
            If the table is empty; if ``quasi_identifiers`` is empty or names
            a missing column; if ``sensitive_column`` is missing or a
            quasi-identifier; if a column has an unsupported dtype or missing
            or infinite values; if ``k`` is not an integer between 1 and the
            number of rows; if ``l`` is set without ``sensitive_column``, is
            not an integer of at least 1, or exceeds the number of distinct
            sensitive values (no l-diverse release exists then); if two output
            columns would get the same name.
        """
        plan = self._validate(table)
        encoded = {c: encode_column(table[c], kind) for c, kind in plan.kinds.items()}
        qis = plan.quasi_identifiers
        values = np.column_stack([encoded[q][0] for q in qis]).astype(np.float64)
        n_categories = np.array(
            [0 if encoded[q][1] is None else len(encoded[q][1]) for q in qis],
            dtype=np.intp,
        )
        groups = _Mondrian(
            values, n_categories, plan.k, plan.sensitive_codes, plan.l
        ).partition()
        self.group_ = groups
        self.report_: dict[str, Any] = _report(table, encoded, set(qis), groups)
        return _generalize(table, encoded, set(qis), groups), "generalization"

    def _validate(self, table: pd.DataFrame) -> _Plan:
        qis = column_list(self.quasi_identifiers, "quasi_identifiers")
        kinds = check_table(
            table, qis, parameter="quasi_identifiers", check_others=True
        )
        sensitive_column = self.sensitive_column
        if sensitive_column is not None:
            if sensitive_column not in table.columns:
                raise ValueError(
                    f"sensitive_column {sensitive_column!r} is not a column of "
                    "the table"
                )
            if sensitive_column in qis:
                raise ValueError(
                    f"sensitive_column {sensitive_column!r} is also a quasi-"
                    "identifier; it must not be generalized"
                )
        k = check_int(
            self.k, "k", max_value=len(table), max_reason="the number of rows"
        )
        if self.l is None:
            return _Plan(kinds, qis, k)
        if sensitive_column is None:
            raise ValueError("l is set but sensitive_column is None; name one")
        l = check_int(self.l, "l")  # noqa: E741
        codes = _sensitive_codes(table[sensitive_column], kinds[sensitive_column])
        n_distinct = np.unique(codes).size
        if l > n_distinct:
            raise ValueError(
                f"l={l} is larger than the number of distinct values "
                f"({n_distinct}) of sensitive_column {sensitive_column!r}; "
                "no l-diverse release exists"
            )
        return _Plan(kinds, qis, k, l, codes)


@dataclass(frozen=True)
class _Plan:
    """The checked parameters of one :meth:`MondrianKAnonymizer.anonymize`."""

    kinds: dict[Hashable, ColumnKind]
    """The kind of every column: quasi-identifiers first, then the others."""
    quasi_identifiers: list[Hashable]
    k: int
    l: int | None = None  # noqa: E741
    sensitive_codes: np.ndarray | None = None
    """Integer codes of the sensitive column, when ``l`` is set."""


def _sensitive_codes(column: pd.Series, kind: ColumnKind) -> np.ndarray:
    if kind == "nominal":
        codes, _ = nominal_codes(column)
    else:
        _, codes = np.unique(numeric_values(column), return_inverse=True)
    return codes.reshape(-1).astype(np.intp, copy=False)


def _report(
    table: pd.DataFrame,
    encoded: dict[Hashable, tuple[np.ndarray, pd.Index | None]],
    quasi_identifiers: set[Hashable],
    groups: np.ndarray,
) -> dict[str, Any]:
    sizes = np.bincount(groups)
    # Quasi-identifiers in table order, as the challenge scores the release.
    penalties = (
        class_penalty(*encoded[label], groups)
        for label in table.columns
        if label in quasi_identifiers
    )
    return {
        "ncp": mean_penalty(penalties, *table.shape),
        "discernibility": int(np.dot(sizes, sizes.astype(np.int64))),
        "n_classes": int(sizes.size),
        "mean_class_size": float(sizes.mean()),
        "min_class_size": int(sizes.min()),
        "max_class_size": int(sizes.max()),
    }


def _n_distinct(codes: np.ndarray, n_codes: int) -> int:
    # Counting by bincount is linear but costs n_codes; sorting wins for
    # sensitive columns with many more distinct values than the partition.
    if n_codes <= 4 * codes.size + 64:
        return int(np.count_nonzero(np.bincount(codes, minlength=n_codes)))
    return int(np.unique(codes).size)


class _Mondrian:
    """Mondrian's recursive median splits of a matrix of quasi-identifiers.

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n_rows, n_qis)
        The quasi-identifiers; nominal columns hold integer codes
        ``0 .. n_categories-1``.
    n_categories : numpy.ndarray of intp, shape (n_qis,)
        Categories of each nominal column, ``0`` for numeric ones.
    k : int
        Every class keeps at least ``k`` rows.
    sensitive, l : numpy.ndarray or None, int or None
        Codes of the sensitive column and the number of distinct codes every
        class keeps (distinct l-diversity), if any.
    """

    def __init__(
        self,
        values: np.ndarray,
        n_categories: np.ndarray,
        k: int,
        sensitive: np.ndarray | None,
        l: int | None,  # noqa: E741
    ) -> None:
        self.values = values
        self.n_categories = n_categories
        self.k = k
        self.l = l
        diverse = l is not None and l > 1
        self.sensitive = sensitive if diverse else None
        self.n_sensitive = int(sensitive.max()) + 1 if diverse else 0
        self.nominal = np.flatnonzero(n_categories > 0)
        self.numeric = np.flatnonzero(n_categories == 0)
        # A split reads only the numeric columns (their ranges) and the
        # offset codes of the nominal ones (their categories), never the whole
        # matrix; column-major (a row per column), so that a split's mask
        # compresses each column contiguously.
        self.numeric_values = np.ascontiguousarray(values[:, self.numeric].T)
        # Where column j lives in numeric_values or in offset_codes.
        self.position = np.empty(n_categories.size, dtype=np.intp)
        self.position[self.numeric] = np.arange(self.numeric.size)
        self.position[self.nominal] = np.arange(self.nominal.size)
        # One bincount over all nominal columns of a partition counts their
        # categories at once: each column's codes get their own offset range.
        nominal_sizes = n_categories[self.nominal]
        self.offsets = np.concatenate(([0], np.cumsum(nominal_sizes)[:-1])).astype(
            np.intp
        )
        self.offset_codes = np.ascontiguousarray(
            (values[:, self.nominal].astype(np.intp) + self.offsets).T
        )
        self.n_offset_codes = int(nominal_sizes.sum())
        # Widths are normalized by the table's: range for numeric, categories
        # present for nominal; a constant column gets an infinite scale.
        scale, _ = self._widths(self.numeric_values, self.offset_codes)
        self.scale = np.where(scale > 0, scale, np.inf)

    def partition(self) -> np.ndarray:
        """The equivalence class of each row, numbered by first appearance."""
        n_rows = self.values.shape[0]
        groups = np.empty(n_rows, dtype=np.intp)
        n_groups = 0
        # Each partition travels with its own rows of the numeric values and
        # offset codes: a split compresses its parent's (contiguous) arrays
        # with a mask, never gathering rows from the whole table at random.
        # The pending partitions hold at most one more copy of those arrays
        # (depth-first, the siblings waiting hold fewer rows than the table).
        worklist = [(np.arange(n_rows), self.numeric_values, self.offset_codes)]
        while worklist:
            rows, numeric, codes = worklist.pop()
            # Below 2k rows no split can leave k rows on both sides.
            split = (
                self._split(rows, numeric, codes) if rows.size >= 2 * self.k else None
            )
            if split is not None:
                for side in (~split, split):
                    worklist.append(
                        (
                            rows[side],
                            numeric.compress(side, axis=1),
                            codes.compress(side, axis=1),
                        )
                    )
                continue
            groups[rows] = n_groups
            n_groups += 1
        return _numbered_by_first_appearance(groups, n_groups)

    def _widths(
        self, numeric: np.ndarray, codes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each column's width, and the count of every offset code."""
        widths = np.empty(self.n_categories.size)
        if self.numeric.size:
            widths[self.numeric] = numeric.max(axis=1) - numeric.min(axis=1)
        counts = np.bincount(codes.ravel(), minlength=self.n_offset_codes)
        if self.nominal.size:
            n_present = np.add.reduceat(counts > 0, self.offsets)
            widths[self.nominal] = np.where(n_present > 1, n_present, 0)
        return widths, counts

    def _split(
        self, rows: np.ndarray, numeric: np.ndarray, codes: np.ndarray
    ) -> np.ndarray | None:
        """The rows going left (a mask over ``rows``, whose numeric values
        and offset codes are given), or ``None`` if no quasi-identifier can be
        split."""
        widths, counts = self._widths(numeric, codes)
        widths /= self.scale
        for j in (-widths).argsort(kind="stable"):
            if widths[j] <= 0:
                return None
            at = self.position[j]
            if self.n_categories[j]:
                offset = self.offsets[at]
                column = _frequency_ranks(
                    codes[at] - offset,
                    counts[offset : offset + self.n_categories[j]],
                )
            else:
                column = numeric[at]
            median = np.partition(column, rows.size // 2)[rows.size // 2]
            for left in (column < median, column <= median):
                if self._allowed(left, rows):
                    return left
        return None

    def _allowed(self, left: np.ndarray, rows: np.ndarray) -> bool:
        n_left = int(np.count_nonzero(left))
        if n_left < self.k or left.size - n_left < self.k:
            return False
        if self.sensitive is None:
            return True
        codes = self.sensitive[rows]
        return (
            _n_distinct(codes[left], self.n_sensitive) >= self.l
            and _n_distinct(codes[~left], self.n_sensitive) >= self.l
        )


def _frequency_ranks(codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each code's rank by descending frequency (``counts``) in the
    partition, so that splitting the ranks like numbers isolates dominant
    categories."""
    rank = np.empty(counts.size, dtype=np.intp)
    rank[np.argsort(-counts, kind="stable")] = np.arange(rank.size)
    return rank[codes]


def _numbered_by_first_appearance(groups: np.ndarray, n_groups: int) -> np.ndarray:
    # So that group ids read top-down.
    n_rows = groups.size
    first_row = np.full(n_groups, n_rows, dtype=np.intp)
    np.minimum.at(first_row, groups, np.arange(n_rows))
    rank = np.empty(n_groups, dtype=np.intp)
    rank[np.argsort(first_row)] = np.arange(n_groups)
    return rank[groups]


def _generalize(
    table: pd.DataFrame,
    encoded: dict[Hashable, tuple[np.ndarray, pd.Index | None]],
    quasi_identifiers: set[Hashable],
    groups: np.ndarray,
) -> pd.DataFrame:
    n_rows = len(table)
    out: dict[str, np.ndarray] = {}

    def put(name: str, array: np.ndarray) -> None:
        # Labels such as "a" next to "a_min", or a category "x" of a column
        # "c" next to a column "c=x", would silently overwrite each other.
        if name in out:
            raise ValueError(
                f"two output columns would be named {name!r}; rename input "
                "columns or categories"
            )
        out[name] = array

    for label in table.columns:
        values, categories = encoded[label]
        if categories is None:
            if label in quasi_identifiers:
                lo, hi = group_ranges(values, groups)
                put(f"{label}_min", lo[groups])
                put(f"{label}_max", hi[groups])
            else:
                put(f"{label}_min", values.copy())
                put(f"{label}_max", values.copy())
        else:
            if label in quasi_identifiers:
                in_class = np.zeros((int(groups.max()) + 1, len(categories)), bool)
                in_class[groups, values] = True
                indicators = in_class[groups]
            else:
                indicators = np.zeros((n_rows, len(categories)), dtype=bool)
                indicators[np.arange(n_rows), values] = True
            for i, category in enumerate(categories):
                put(f"{label}={category}", indicators[:, i])
    # Every array above is the release's own: the frame takes them as they
    # are (consolidating a hundred indicator columns into one block copied
    # them, a sixth of the time on 3M rows).
    return pd.DataFrame(out, index=table.index, copy=False)
