"""Column domains and the codec between table columns and synthesizer codes.

The synthesizers work on integer codes ``0 .. n_codes - 1`` per column. Each
column's codec fixes ``n_codes`` from its domain alone -- declared, implied by
the dtype, or chosen privately -- never from the values that happen to occur,
so the synthesizer's domain (and hence the set of possible outputs) does not
depend on the data beyond what the budget paid for.

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
    "BinnedCodec",
    "CategoricalCodec",
    "Codec",
    "DomainSource",
    "Role",
    "check_declared_domains",
    "implicit_categories",
    "is_bool_like",
    "observed_codes",
]

Role = Literal["categorical", "binned"]
# Where a domain comes from: the declared codebook ("declared"), the dtype
# ("dtype": bool, or a pandas categorical's categories), or a differentially
# private step on the data ("selected" categories, "dp" bounds).
DomainSource = Literal["declared", "dtype", "selected", "dp"]


def is_bool_like(series: pd.Series) -> bool:
    """Whether a column holds bools (bool dtypes, or objects that are all bool)."""
    if pdt.is_bool_dtype(series.dtype):
        return True
    return pdt.is_object_dtype(series.dtype) and (
        pdt.infer_dtype(series, skipna=True) == "boolean"
    )


def implicit_categories(series: pd.Series) -> pd.Index | None:
    """The public categories of a column whose dtype fixes them, else ``None``.

    A bool column can only hold ``False`` and ``True``; a pandas categorical
    column carries its categories in its dtype, which the release keeps, so
    they are published whatever the data.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.categories
    if is_bool_like(series):
        return pd.Index([False, True], dtype=object)
    return None


@dataclass
class CategoricalCodec:
    """Codes of a categorical column: its categories, then "other" if any."""

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
        if isinstance(self.dtype, pd.CategoricalDtype):
            return series.cat.codes.to_numpy().astype(np.intp)
        if is_bool_like(series):
            return series.to_numpy(dtype=bool).astype(np.intp)
        if self.other is not None:
            codes = self.categories.get_indexer(series.to_numpy(dtype=object))
            return np.where(codes < 0, len(self.categories), codes).astype(np.intp)
        # Numeric categories: the nearest one (the lower on a tie).
        domain = self.categories.to_numpy(dtype=np.float64)
        values = numeric_values(series).astype(np.float64)
        if len(domain) == 1:
            return np.zeros(len(values), dtype=np.intp)
        upper = np.clip(np.searchsorted(domain, values), 1, len(domain) - 1)
        lower = upper - 1
        nearer_upper = domain[upper] - values < values - domain[lower]
        return np.where(nearer_upper, upper, lower).astype(np.intp)

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = np.asarray(codes, dtype=np.intp)
        if self.other is not None:
            self.outside_share = float(np.mean(codes == len(self.categories)))
        if isinstance(self.dtype, pd.CategoricalDtype):
            return pd.Series(pd.Categorical.from_codes(codes, dtype=self.dtype))
        values = list(self.categories)
        if self.other is not None:
            values.append(self.other)
        return pd.Series(pd.Index(values, dtype=object).take(codes)).astype(self.dtype)

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
) -> dict[Hashable, pd.Index | tuple[float, float]]:
    """Validate ``domains`` and ``bounds`` against the table's columns.

    Returns, per declared column, its categories (an Index, for a categorical
    column) or its ``(lower, upper)`` range (for a binned one).

    Raises
    ------
    ValueError
        If a declaration names a missing column, gives a column twice (in
        ``domains`` and ``bounds``), does not fit the column's role and dtype,
        or declares more than ``max_categories`` categories; if a categorical
        dtype has more than ``max_categories`` categories.
    """
    for label in table.columns:
        fixed = implicit_categories(table[label])
        if fixed is not None and len(fixed) > max_categories:
            raise ValueError(
                f"column {label!r} has a categorical dtype with {len(fixed)} "
                f"categories, more than max_categories={max_categories}"
            )
    declared: dict[Hashable, pd.Index | tuple[float, float]] = {}
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
) -> pd.Index:
    if implicit_categories(series) is not None:
        what = "bool" if is_bool_like(series) else "categorical"
        raise ValueError(
            f"{where}: the column's {what} dtype fixes its categories already; "
            "drop it from domains"
        )
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
    if pdt.is_numeric_dtype(series.dtype):
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
    numpy_dtype = np.dtype(getattr(series.dtype, "numpy_dtype", series.dtype))
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
    """Codes of a column's observed values, for the private selection."""
    if pdt.is_numeric_dtype(series.dtype):
        codes, uniques = pd.factorize(numeric_values(series), sort=True)
        return codes.astype(np.intp), pd.Index(uniques)
    return nominal_codes(series)
