"""Column domains and the codec between table columns and synthesizer codes.

The synthesizers work on integer codes ``0 .. n_codes - 1`` per column. Each
column's codec fixes ``n_codes`` from its domain alone -- declared, implied by
the dtype, or chosen privately -- never from the values that happen to occur,
so the synthesizer's domain (and hence the set of possible outputs) does not
depend on the data beyond what the budget paid for.

Only a bool column's dtype fixes its categories by itself. A pandas
categorical's categories are data unless declared: ``astype("category")``
takes them from the values, so a value held by one row would be published by
the output's dtype alone. Nor can the data tell a codebook from a derived
dtype: categories taken from a larger table (converted, then split or
filtered) include values the table lacks, and a codebook may happen to occur
in full. So an undeclared categorical's categories are chosen privately, like
a string column's, and ``domains={label: "dtype"}`` declares them public.

- :class:`CategoricalCodec`: one code per category, plus, for string columns,
  one "other" code for every value outside the domain. Numeric columns
  treated as categorical have no "other": a value outside their domain is
  replaced by the nearest value of the domain.
- :class:`BinnedCodec`: ``n_bins`` equal-width bins between the bounds, plus
  one code below and one above for the values clipped to the bounds.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Collection, Hashable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from .._checks import nominal_codes, numeric_values

__all__ = [
    "DTYPE",
    "BinnedCodec",
    "CategoricalCodec",
    "Codec",
    "DomainSource",
    "DtypeCategories",
    "Role",
    "check_declared_domains",
    "implicit_categories",
    "is_bool_like",
    "numeric_categories",
    "observed_codes",
]

Role = Literal["categorical", "binned"]
# Where a domain comes from: the declared codebook ("declared"), the dtype
# ("dtype": bool, or a pandas categorical's categories declared public with
# DTYPE), or a differentially private step on the data ("selected"
# categories, "dp" bounds).
DomainSource = Literal["declared", "dtype", "selected", "dp"]

# The value of ``domains[label]`` that declares a pandas categorical's own
# categories public.
DTYPE = "dtype"


@dataclass(frozen=True)
class DtypeCategories:
    """A declaration that a pandas categorical's categories are public."""

    categories: pd.Index


def is_bool_like(series: pd.Series) -> bool:
    """Whether a column holds bools (bool dtypes, or objects that are all bool)."""
    if pdt.is_bool_dtype(series.dtype):
        return True
    return pdt.is_object_dtype(series.dtype) and (
        pdt.infer_dtype(series, skipna=True) == "boolean"
    )


def implicit_categories(series: pd.Series) -> pd.Index | None:
    """The public categories of a column whose dtype fixes them, else ``None``.

    Only a bool column (not a pandas categorical) has them: it can hold
    ``False`` and ``True`` and nothing else, whatever the data. A pandas
    categorical's categories may come from the data (``astype("category")``),
    so they are public only where declared (:data:`DTYPE`).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return None
    if is_bool_like(series):
        return pd.Index([False, True], dtype=object)
    return None


def numeric_categories(series: pd.Series) -> bool:
    """Whether a categorical column's values are numbers (bools excepted).

    Numbers outside a domain become the nearest value of the domain; other
    values become the "other" label. A pandas categorical counts by its
    categories' dtype.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return pdt.is_numeric_dtype(dtype) and not pdt.is_bool_dtype(dtype)


@dataclass
class CategoricalCodec:
    """Codes of a categorical column: its categories, then "other" if any.

    The released column holds only these: a pandas categorical is released
    with a dtype whose categories are ``categories`` (then ``other``), in
    that order and with the input's ``ordered``, so that its dtype publishes
    nothing the domain does not. Only where the dtype's own categories are
    the domain (``source == "dtype"``) is the input's dtype kept.
    """

    label: Hashable
    dtype: Any
    categories: pd.Index
    source: DomainSource
    other: str | None = None
    # Shares of the synthetic rows in the "other" code, set after sampling.
    outside_share: float | None = field(default=None, init=False)

    @property
    def n_codes(self) -> int:
        return len(self.categories) + (self.other is not None)

    def encode(self, series: pd.Series) -> np.ndarray:
        categorical = isinstance(self.dtype, pd.CategoricalDtype)
        if categorical and self.source == "dtype":
            return series.cat.codes.to_numpy().astype(np.intp)
        if not categorical and is_bool_like(series):
            return series.to_numpy(dtype=bool).astype(np.intp)
        values = _values(series)
        if self.other is not None:
            codes = self.categories.get_indexer(values.to_numpy(dtype=object))
            return np.where(codes < 0, len(self.categories), codes).astype(np.intp)
        # Numeric categories: the nearest one (the lower on a tie).
        domain = self.categories.to_numpy(dtype=np.float64)
        numbers = values.to_numpy(dtype=np.float64)
        if len(domain) == 1:
            return np.zeros(len(numbers), dtype=np.intp)
        upper = np.clip(np.searchsorted(domain, numbers), 1, len(domain) - 1)
        lower = upper - 1
        nearer_upper = domain[upper] - numbers < numbers - domain[lower]
        return np.where(nearer_upper, upper, lower).astype(np.intp)

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = np.asarray(codes, dtype=np.intp)
        if self.other is not None:
            self.outside_share = float(np.mean(codes == len(self.categories)))
        if isinstance(self.dtype, pd.CategoricalDtype):
            return pd.Series(
                pd.Categorical.from_codes(codes, dtype=self.released_dtype())
            )
        values = list(self.categories)
        if self.other is not None:
            values.append(self.other)
        return pd.Series(pd.Index(values, dtype=object).take(codes)).astype(self.dtype)

    def released_dtype(self) -> Any:
        """The dtype of the released column: the input's, but for a pandas
        categorical one whose categories are the domain's (then "other")."""
        if not isinstance(self.dtype, pd.CategoricalDtype) or self.source == "dtype":
            return self.dtype
        published = list(self.categories)
        if self.other is not None:
            published.append(self.other)
        # The input categories' dtype where it holds them (str stays str on
        # pandas 3), else object; never a cast that could turn "other" into
        # a bool or a number.
        kind = self.dtype.categories.dtype
        if self.other is None or pdt.is_object_dtype(kind) or pdt.is_string_dtype(kind):
            with contextlib.suppress(TypeError, ValueError):
                index = pd.Index(published, dtype=kind)
                if list(index) == published:
                    return pd.CategoricalDtype(index, ordered=self.dtype.ordered)
        return pd.CategoricalDtype(
            pd.Index(published, dtype=object), ordered=self.dtype.ordered
        )

    def domain(self) -> list:
        return [_plain(v) for v in self.categories]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "domain": self.source,
            "n_categories": len(self.categories),
            "other": self.other,
            "outside_share": self.outside_share,
        }


@dataclass
class BinnedCodec:
    """Codes of a binned numeric column: below, ``n_bins`` bins, above."""

    label: Hashable
    dtype: Any
    lower: float
    upper: float
    n_bins: int
    source: DomainSource
    outside_share: float | None = field(default=None, init=False)

    @property
    def n_codes(self) -> int:
        return self.n_bins + 2

    def bin_index(self, values: np.ndarray) -> np.ndarray:
        """Equal-width bins ``0 .. n_bins - 1``, values clipped to the bounds."""
        clipped = np.clip(np.asarray(values, dtype=np.float64), self.lower, self.upper)
        scaled = np.floor(
            self.n_bins * (clipped - self.lower) / (self.upper - self.lower)
        )
        return np.minimum(scaled, self.n_bins - 1).astype(np.intp)

    def encode(self, series: pd.Series) -> np.ndarray:
        values = numeric_values(series).astype(np.float64)
        codes = 1 + self.bin_index(values)
        codes[values < self.lower] = 0
        codes[values > self.upper] = self.n_bins + 1
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = np.asarray(codes, dtype=np.intp)
        outside = (codes == 0) | (codes == self.n_bins + 1)
        self.outside_share = float(np.mean(outside))
        # Spread values uniformly over their bin (post-processing, free of
        # budget), so the column does not collapse to n_bins distinct values;
        # the outside codes become the bound they were clipped to.
        width = (self.upper - self.lower) / self.n_bins
        index = np.clip(codes - 1, 0, self.n_bins - 1)
        values = self.lower + (index + rng.random(len(codes))) * width
        values[codes == 0] = self.lower
        values[codes == self.n_bins + 1] = self.upper
        return pd.Series(_cast(values, self.dtype, self.lower, self.upper))

    def domain(self) -> tuple[float, float]:
        return (self.lower, self.upper)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "binned",
            "n_bins": self.n_bins,
            "lower": self.lower,
            "upper": self.upper,
            "bounds": self.source,
            "outside_share": self.outside_share,
        }


Codec = CategoricalCodec | BinnedCodec


def _cast(values: np.ndarray, dtype: Any, lower: float, upper: float) -> pd.Series:
    numpy_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    if np.issubdtype(numpy_dtype, np.integer):
        info = np.iinfo(numpy_dtype)
        low = max(math.ceil(lower), info.min)
        high = min(math.floor(upper), info.max)
        values = np.rint(values)
        if low <= high:
            values = np.clip(values, low, high)
        values = np.clip(values, info.min, info.max)
    return pd.Series(values.astype(numpy_dtype)).astype(dtype)


def _values(series: pd.Series) -> pd.Index:
    """A column's values as an Index: a categorical's as its categories'."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.categories.take(series.cat.codes.to_numpy())
    if pdt.is_numeric_dtype(series.dtype):
        return pd.Index(numeric_values(series))
    return pd.Index(series.to_numpy(dtype=object), dtype=object)


def _plain(value: Any) -> Any:
    # NumPy scalars to Python ones, so that domains_ is plain JSON material.
    return value.item() if isinstance(value, np.generic) else value


# -- declared domains --------------------------------------------------------


def check_declared_domains(
    table: pd.DataFrame,
    roles: Mapping[Hashable, Role],
    domains: object,
    bounds: object,
    other: str,
    max_categories: int,
) -> dict[Hashable, pd.Index | DtypeCategories | tuple[float, float]]:
    """Validate ``domains`` and ``bounds`` against the table's columns.

    Returns, per declared column, its categories (an Index, for a categorical
    column; a :class:`DtypeCategories` for a pandas categorical declared
    :data:`DTYPE`) or its ``(lower, upper)`` range (for a binned one).

    Raises
    ------
    ValueError
        If a declaration names a missing column, gives a column twice (in
        ``domains`` and ``bounds``), does not fit the column's role and dtype,
        or declares more than ``max_categories`` categories (a categorical
        dtype declared :data:`DTYPE` included).
    """
    declared: dict[Hashable, pd.Index | DtypeCategories | tuple[float, float]] = {}
    for parameter, mapping in (("bounds", bounds), ("domains", domains)):
        for label, value in _mapping(mapping, parameter).items():
            if label not in table.columns:
                raise ValueError(
                    f"{parameter} names column {label!r}, which the table lacks"
                )
            if label in declared:
                raise ValueError(
                    f"column {label!r} is given in both bounds and domains; "
                    "declare it once, in domains"
                )
            where = f"{parameter}[{label!r}]"
            if roles[label] == "binned":
                declared[label] = _check_range(value, where)
            elif parameter == "bounds":
                raise ValueError(
                    f"bounds names column {label!r}, which is not a binned numeric "
                    "column; declare its categories in domains"
                )
            else:
                declared[label] = _check_categories(
                    table[label], value, where, other, max_categories
                )
    return declared


def _mapping(value: object, parameter: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{parameter} must map column names to their domains, "
            f"got {type(value).__name__}"
        )
    return value


def _check_range(pair: object, where: str) -> tuple[float, float]:
    try:
        lower, upper = (float(v) for v in pair)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} must be a pair of numbers (lower, upper) for a binned numeric "
            f"column, got {pair!r}; to declare its values instead, list the column "
            "in categorical_columns"
        ) from None
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise ValueError(
            f"{where} must be finite with lower < upper, got ({lower}, {upper})"
        )
    return lower, upper


def _check_categories(
    series: pd.Series, values: object, where: str, other: str, max_categories: int
) -> pd.Index | DtypeCategories:
    categorical = isinstance(series.dtype, pd.CategoricalDtype)
    if not categorical and is_bool_like(series):
        raise ValueError(
            f"{where}: the column's bool dtype fixes its categories already; "
            "drop it from domains"
        )
    if isinstance(values, str) and values == DTYPE:
        if not categorical:
            raise ValueError(
                f"{where}={DTYPE!r} declares the categories of a pandas categorical "
                f"public, but the column has dtype {series.dtype}; list its "
                "categories instead"
            )
        fixed = series.cat.categories
        if len(fixed) > max_categories:
            raise ValueError(
                f"{where}={DTYPE!r}: the column's categorical dtype has "
                f"{len(fixed)} categories, more than max_categories={max_categories}"
            )
        return DtypeCategories(fixed)
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Collection):
        raise ValueError(
            f"{where} must be a collection of categories (a list or set), "
            f"got {type(values).__name__}"
        )
    listed = list(values)
    if isinstance(values, Set):
        # A set has no order of its own; sorting makes the domain, and with it
        # a seeded release, independent of hashing.
        with contextlib.suppress(TypeError):
            listed = sorted(listed)
    if not listed:
        raise ValueError(f"{where} declares no category")
    if len(listed) > max_categories:
        raise ValueError(
            f"{where} declares {len(listed)} categories, more than "
            f"max_categories={max_categories}"
        )
    if numeric_categories(series):
        return _numeric_categories(series, listed, where)
    bad = [v for v in listed if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{where} must list strings, got {bad[0]!r}")
    if other in listed:
        raise ValueError(
            f"{where} lists {other!r}, the label of values outside the domain; "
            "choose another other_category"
        )
    index = pd.Index(listed, dtype=object)
    if not index.is_unique:
        raise ValueError(f"{where} lists a category twice")
    return index


def _numeric_categories(series: pd.Series, listed: list, where: str) -> pd.Index:
    if not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        for v in listed
    ):
        raise ValueError(f"{where} must list finite numbers for a numeric column")
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    numpy_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    cast = np.asarray(listed, dtype=np.float64).astype(numpy_dtype)
    if not np.array_equal(cast.astype(np.float64), np.asarray(listed, np.float64)):
        raise ValueError(
            f"{where} holds values a column of dtype {series.dtype} cannot hold"
        )
    index = pd.Index(np.sort(cast))
    if not index.is_unique:
        raise ValueError(f"{where} lists a category twice")
    return index


def observed_codes(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of a column's values, for the private selection.

    A pandas categorical's codes index its dtype's categories; the selection
    counts only the codes that occur, so unused categories cannot be kept.
    """
    if pdt.is_numeric_dtype(series.dtype):
        codes, uniques = pd.factorize(numeric_values(series), sort=True)
        return codes.astype(np.intp), pd.Index(uniques)
    return nominal_codes(series)
