"""A release read cell by cell: what each released row says about each column.

Every scheme releases, for every row and column, a *set* of values the
original value lies in: a range ``[lo, hi]`` for a numeric column and a set of
categories for a nominal one. A ``generalization`` release says so
explicitly (``c_min``/``c_max``, multi-hot ``c=<category>`` indicators); the
``same`` and ``microaggregation`` schemes release points (``lo == hi``, one
category). :class:`ReleasedCells` holds these sets, measures how far a record
lies from each released row (a Gower-like distance that is 0 inside the set)
and decodes a release back into the original columns.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ..tabular._checks import ColumnKind

__all__ = ["ReleasedCells", "column_spans"]

# Rows of records handled at once by the distance computations: bounds the
# temporaries at about this many float64 cells.
_CELLS_PER_CHUNK = 4_000_000
# Distances closer than this count as equal (ties, containment).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class _NumericCells:
    lo: np.ndarray  # (n_released,) float64
    hi: np.ndarray
    span: float  # the column's range in the population; 1 for a constant column


@dataclass(frozen=True)
class _NominalCells:
    # Released categories as text, the way the scheme names them; member has
    # one extra, always-False column for values the release never names.
    categories: tuple[str, ...]
    member: np.ndarray  # (n_released, n_categories + 1) bool

    def codes(self, column: pd.Series) -> np.ndarray:
        """The category index of each value (``n_categories`` if unknown)."""
        index = {category: i for i, category in enumerate(self.categories)}
        unknown = len(self.categories)
        return np.fromiter(
            (index.get(str(value), unknown) for value in column),
            dtype=np.intp,
            count=len(column),
        )


def column_spans(
    tables: Sequence[pd.DataFrame], kinds: dict[Hashable, ColumnKind]
) -> dict[Hashable, float]:
    """The range of each numeric column over ``tables`` (1 where constant)."""
    spans = {}
    for label, kind in kinds.items():
        if kind != "numeric":
            continue
        values = np.concatenate(
            [t[label].to_numpy(dtype=np.float64, na_value=np.nan) for t in tables]
        )
        span = float(np.nanmax(values) - np.nanmin(values))
        spans[label] = span if span > 0 else 1.0
    return spans


class ReleasedCells:
    """The set of values each released row gives each original column.

    Parameters
    ----------
    release : pandas.DataFrame
        The anonymized table.
    scheme : {"same", "generalization", "microaggregation"}
        Its representation (see :mod:`anomed_anonymizer.tabular.base`).
    kinds : dict
        The original columns and their kinds, in the original order.
    spans : dict
        The range of every numeric column in the population, the unit of the
        distances.

    Raises
    ------
    ValueError
        If the release lacks a column its scheme must hold (the message names
        it), or holds non-numeric values where the scheme puts numbers.
    """

    def __init__(
        self,
        release: pd.DataFrame,
        scheme: str,
        kinds: dict[Hashable, ColumnKind],
        spans: dict[Hashable, float],
    ) -> None:
        self.scheme = scheme
        self.kinds = dict(kinds)
        self.n_rows = len(release)
        self.cells: dict[Hashable, _NumericCells | _NominalCells] = {}
        for label, kind in kinds.items():
            if kind == "numeric":
                lo, hi = _numeric_bounds(release, scheme, label)
                self.cells[label] = _NumericCells(lo, hi, spans[label])
            else:
                self.cells[label] = _nominal_cells(release, scheme, label)

    def take(self, rows: np.ndarray) -> ReleasedCells:
        """The same cells restricted to the released rows ``rows``."""
        other = object.__new__(ReleasedCells)
        other.scheme = self.scheme
        other.kinds = self.kinds
        other.n_rows = len(rows)
        other.cells = {
            label: (
                _NumericCells(cells.lo[rows], cells.hi[rows], cells.span)
                if isinstance(cells, _NumericCells)
                else _NominalCells(cells.categories, cells.member[rows])
            )
            for label, cells in self.cells.items()
        }
        return other

    def classes(self, columns: Sequence[Hashable]) -> np.ndarray:
        """Equivalence classes: released rows with equal cells in ``columns``.

        Returns
        -------
        numpy.ndarray of intp, shape (n_released,)
            Dense class ids, ``0 .. n_classes - 1``.
        """
        parts = []
        for label in columns:
            cells = self.cells[label]
            if isinstance(cells, _NumericCells):
                parts += [cells.lo[:, None], cells.hi[:, None]]
            else:
                parts.append(cells.member.astype(np.float64))
        _, dense = np.unique(np.hstack(parts), axis=0, return_inverse=True)
        return dense.reshape(-1).astype(np.intp)

    def encode(self, table: pd.DataFrame, columns: Sequence[Hashable]) -> list:
        """Encode records for :meth:`distances`: values or category indices."""
        encoded = []
        for label in columns:
            cells = self.cells[label]
            column = table[label]
            if isinstance(cells, _NumericCells):
                encoded.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                encoded.append(cells.codes(column))
        return encoded

    def distances(
        self,
        encoded: list,
        columns: Sequence[Hashable],
        rows: slice,
        nominal_weight: float = 1.0,
    ) -> np.ndarray:
        """Distances of the records ``rows`` of ``encoded`` to every released row.

        A numeric column adds how far the value lies outside the released
        range, in units of the column's span; a nominal column adds
        ``nominal_weight`` when the value is not among the released
        categories. A record inside every released set is at distance 0.

        Returns
        -------
        numpy.ndarray of float64, shape (n_records_in_rows, n_released)
        """
        first = encoded[0][rows]
        result = np.zeros((len(first), self.n_rows))
        for label, values in zip(columns, encoded, strict=True):
            cells = self.cells[label]
            part = values[rows]
            if isinstance(cells, _NumericCells):
                x = part[:, None]
                outside = np.maximum(cells.lo[None, :] - x, x - cells.hi[None, :])
                result += np.maximum(outside, 0.0) / cells.span
            else:
                result += nominal_weight * ~cells.member[:, part].T
        return result

    def chunks(self, n_records: int) -> list[slice]:
        """Slices of ``n_records`` records small enough for :meth:`distances`."""
        step = max(1, _CELLS_PER_CHUNK // max(self.n_rows, 1))
        return [slice(i, min(i + step, n_records)) for i in range(0, n_records, step)]

    def decode(self, original: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """The release as a table of the original columns, one record per row.

        Each cell becomes a value drawn uniformly from its released set: a
        point release comes back as it is, a range gives a uniform value in
        it (an integer for integer columns) and a set of categories a uniform
        choice among them. The columns keep the original dtypes.
        """
        columns = {}
        for label, cells in self.cells.items():
            dtype = original[label].dtype
            if isinstance(cells, _NumericCells):
                columns[label] = _draw_numeric(cells, dtype, rng)
            else:
                columns[label] = _draw_nominal(cells, original[label], rng)
        return pd.DataFrame(columns, columns=list(self.cells))


def _numeric_bounds(
    release: pd.DataFrame, scheme: str, label: Hashable
) -> tuple[np.ndarray, np.ndarray]:
    if scheme == "generalization":
        names = (f"{label}_min", f"{label}_max")
    else:
        names = (label, label)
    missing = [name for name in names if name not in release.columns]
    if missing:
        raise ValueError(
            f"the {scheme!r} release lacks column {missing[0]!r}, which holds "
            f"numeric column {label!r}"
        )
    bounds = []
    for name in names:
        values = pd.to_numeric(release[name], errors="coerce")
        bounds.append(values.to_numpy(dtype=np.float64, na_value=np.nan))
    return bounds[0], bounds[1]


def _nominal_cells(
    release: pd.DataFrame, scheme: str, label: Hashable
) -> _NominalCells:
    if scheme == "generalization":
        prefix = f"{label}="
        indicators = [c for c in release.columns if str(c).startswith(prefix)]
        if not indicators:
            raise ValueError(
                f"the 'generalization' release lacks indicator columns "
                f"'{label}=<category>' for nominal column {label!r}"
            )
        categories = tuple(str(c)[len(prefix) :] for c in indicators)
        member = release[indicators].astype(bool).to_numpy()
    else:
        if label not in release.columns:
            raise ValueError(
                f"the {scheme!r} release lacks column {label!r}; the scheme keeps "
                "every column"
            )
        text = release[label].astype(str).to_numpy()
        categories_index, codes = np.unique(text, return_inverse=True)
        categories = tuple(categories_index.tolist())
        member = np.zeros((len(release), len(categories)), dtype=bool)
        member[np.arange(len(release)), codes.reshape(-1)] = True
        missing = release[label].isna().to_numpy()
        member[missing] = False
    unknown = np.zeros((len(member), 1), dtype=bool)
    return _NominalCells(categories, np.hstack([member, unknown]))


def _draw_numeric(
    cells: _NumericCells, dtype: np.dtype, rng: np.random.Generator
) -> np.ndarray:
    lo, hi = cells.lo, cells.hi
    point = lo == hi
    if pdt.is_integer_dtype(dtype):
        # Integer ranges hold integers: draw one of ceil(lo) .. floor(hi).
        low, high = np.ceil(lo), np.floor(hi)
        ok = np.isfinite(low) & np.isfinite(high) & (low <= high)
        drawn = np.where(ok, low, np.nan)
        drawn[ok] = rng.integers(
            low[ok].astype(np.int64), high[ok].astype(np.int64) + 1
        )
        values = np.where(point, lo, drawn)
        if np.isnan(values).any() or np.any(values != np.round(values)):
            return values  # not representable in the integer dtype: keep floats
        return values.astype(getattr(dtype, "numpy_dtype", dtype))
    drawn = rng.uniform(np.nan_to_num(lo), np.nan_to_num(hi))
    drawn = np.where(np.isnan(lo) | np.isnan(hi), np.nan, drawn)
    return np.where(point, lo, drawn)


def _draw_nominal(
    cells: _NominalCells, original: pd.Series, rng: np.random.Generator
) -> pd.Series:
    member = cells.member[:, :-1]
    counts = member.sum(axis=1)
    # The k-th marked category of a row, k uniform in 0 .. count-1.
    pick = np.floor(rng.random(len(member)) * np.maximum(counts, 1)).astype(np.intp)
    rank = np.cumsum(member, axis=1) - 1
    chosen = np.argmax(member & (rank == pick[:, None]), axis=1)
    # Back to the original values (bools, categories of any type, strings).
    by_text = {str(value): value for value in pd.unique(original.dropna())}
    values = [
        by_text.get(cells.categories[c], cells.categories[c]) if n else None
        for c, n in zip(chosen, counts, strict=True)
    ]
    series = pd.Series(values, dtype=object)
    if isinstance(original.dtype, pd.CategoricalDtype):
        return pd.Categorical(series, categories=original.cat.categories)
    if pdt.is_bool_dtype(original.dtype) and counts.all():
        return series.astype(bool).to_numpy()
    return series.astype(original.dtype) if counts.all() else series
