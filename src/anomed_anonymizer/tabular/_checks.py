"""Input validation and encoding shared by the tabular anonymizers and metrics.

:func:`check_table` plays the part of scikit-learn's ``check_array``: every
public entry point passes its table through it, so all of them reject the same
inputs with the same messages.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Hashable, Iterable
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api import types as pdt

__all__ = [
    "ColumnKind",
    "check_groups",
    "check_int",
    "check_table",
    "column_kind",
    "column_list",
    "encode_column",
    "listing",
    "nominal_codes",
    "numeric_values",
]

ColumnKind = Literal["numeric", "nominal"]

# Long column lists make unreadable error messages.
_MAX_LISTED = 10


def column_kind(column: pd.Series) -> ColumnKind | None:
    """Classify a column as numeric, nominal or unsupported.

    Parameters
    ----------
    column : pandas.Series
        The column.

    Returns
    -------
    {"numeric", "nominal"} or None
        ``"nominal"`` for bool, categorical and string columns (including
        object columns that hold only strings, or only bools), ``"numeric"``
        for real-valued integer and float columns (NumPy or nullable pandas
        dtypes), ``None`` for anything else (datetimes, timedeltas, complex
        numbers, objects of mixed types, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> column_kind(pd.Series([1.5, 2.0])), column_kind(pd.Series(["a", "b"]))
    ('numeric', 'nominal')
    >>> column_kind(pd.Series(["a", 1])) is None
    True
    """
    dtype = column.dtype
    # bool counts as numeric for pandas, but two unordered states are nominal.
    if pdt.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "nominal"
    if pdt.is_complex_dtype(dtype):
        return None
    if pdt.is_numeric_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.StringDtype):
        return "nominal"
    if pdt.is_object_dtype(dtype) and pdt.infer_dtype(column, skipna=True) in (
        "string",
        "boolean",
    ):
        return "nominal"
    return None


def _describe_dtype(column: pd.Series) -> str:
    if pdt.is_object_dtype(column.dtype):
        return f"object ({pdt.infer_dtype(column, skipna=True)} values)"
    return str(column.dtype)


def listing(labels: Iterable[Hashable]) -> str:
    """Labels as a short, readable list for an error message.

    Examples
    --------
    >>> listing(["age", "zip"])
    "['age', 'zip']"
    >>> listing(range(12))
    '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (2 more)]'
    """
    labels = list(labels)
    shown = ", ".join(repr(label) for label in labels[:_MAX_LISTED])
    if len(labels) > _MAX_LISTED:
        shown += f", ... ({len(labels) - _MAX_LISTED} more)"
    return f"[{shown}]"


def column_list(columns: object, parameter: str) -> list[Hashable]:
    """Turn a column parameter into a list of labels.

    A lone string (or other non-iterable label) names one column, rather than
    being split into one-letter names.

    Raises
    ------
    ValueError
        If ``columns`` is empty or names a column twice.

    Examples
    --------
    >>> column_list("age", "columns"), column_list(("age", "zip"), "columns")
    (['age'], ['age', 'zip'])
    """
    if isinstance(columns, str) or not isinstance(columns, Iterable):
        return [columns]
    labels = list(columns)
    if not labels:
        raise ValueError(f"{parameter} must name at least one column, got none")
    duplicated = sorted({repr(c) for c in labels if labels.count(c) > 1})
    if duplicated:
        raise ValueError(f"{parameter} names columns twice: {', '.join(duplicated)}")
    return labels


def check_table(
    table: object,
    columns: object,
    *,
    parameter: str,
    kinds: Collection[ColumnKind] = ("numeric", "nominal"),
    check_others: bool = False,
) -> dict[Hashable, ColumnKind]:
    """Validate a table and the columns an anonymizer works on.

    Parameters
    ----------
    table : object
        Must be a :class:`pandas.DataFrame` with at least one row and unique
        column labels.
    columns : Hashable or iterable of Hashable or None
        The columns to use: each must exist, be of one of ``kinds`` and hold
        no missing (NaN/None) or infinite value. A single label (for example a
        string) stands for one column. ``None`` selects every column of one of
        ``kinds``, in table order.
    parameter : str
        The name of the parameter ``columns`` came from, for error messages.
    kinds : collection of {"numeric", "nominal"}, default ("numeric", "nominal")
        The column kinds (see :func:`column_kind`) accepted in ``columns``.
    check_others : bool, default False
        Also require every other column to be numeric or nominal and free of
        missing values (for anonymizers that re-encode the whole table).

    Returns
    -------
    dict
        The kind of each used column, in the order of ``columns``, followed,
        with ``check_others``, by the other columns in table order.

    Raises
    ------
    TypeError
        If ``table`` is not a DataFrame.
    ValueError
        If the table is empty or has duplicate column labels; if ``columns`` is
        empty, repeats a label or names a column the table lacks; if a checked
        column has an unsupported dtype (the message names the column and its
        dtype) or holds missing or infinite values (the message names the
        column and the count); if ``columns`` is ``None`` and no column is of
        one of ``kinds``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"age": [30, 41], "zip": ["1010", "1020"]})
    >>> check_table(table, ["age"], parameter="quasi_identifiers")
    {'age': 'numeric'}
    >>> check_table(table, ["income"], parameter="quasi_identifiers")
    Traceback (most recent call last):
    ...
    ValueError: quasi_identifiers names columns the table lacks: ['income']; ...
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    if len(table) == 0 or table.shape[1] == 0:
        raise ValueError(
            f"table is empty ({table.shape[0]} rows, {table.shape[1]} columns)"
        )
    if not table.columns.is_unique:
        dup = table.columns[table.columns.duplicated()].unique()
        raise ValueError(f"table has duplicate column labels: {listing(dup)}")

    used = _used_columns(table, columns, parameter, kinds)
    used_set = set(used)
    others = [c for c in table.columns if c not in used_set] if check_others else []
    checks = [(c, kinds) for c in used] + [(c, ("numeric", "nominal")) for c in others]
    return {
        label: _checked_kind(table[label], label, allowed) for label, allowed in checks
    }


def _used_columns(
    table: pd.DataFrame, columns: object, parameter: str, kinds: Collection[ColumnKind]
) -> list[Hashable]:
    if columns is None:
        used = [c for c in table.columns if column_kind(table[c]) in kinds]
        if not used:
            raise ValueError(
                f"{parameter}=None selects every {' or '.join(kinds)} column, "
                "but the table has none"
            )
        return used
    used = column_list(columns, parameter)
    missing = [c for c in used if c not in table.columns]
    if missing:
        raise ValueError(
            f"{parameter} names columns the table lacks: {listing(missing)}; "
            f"the table has {listing(table.columns)}"
        )
    return used


def _checked_kind(
    column: pd.Series, label: Hashable, allowed: Collection[ColumnKind]
) -> ColumnKind:
    kind = column_kind(column)
    n_missing = int(column.isna().sum())
    if n_missing:
        raise ValueError(
            f"column {label!r} has {n_missing} missing value(s) (NaN/None); "
            "drop or impute them first"
        )
    if kind not in allowed:
        raise ValueError(
            f"column {label!r} has unsupported dtype {_describe_dtype(column)}; "
            f"expected {' or '.join(allowed)} data"
        )
    if kind == "numeric" and pdt.is_float_dtype(column.dtype):
        n_inf = int(np.isinf(numeric_values(column)).sum())
        if n_inf:
            raise ValueError(
                f"column {label!r} has {n_inf} infinite value(s); "
                "drop or clip them first"
            )
    return kind  # type: ignore[return-value]


def check_int(
    value: object,
    name: str,
    *,
    min_value: int = 1,
    max_value: int | None = None,
    max_reason: str = "",
) -> int:
    """Check that a parameter is an integer within bounds.

    Parameters
    ----------
    value : object
        The parameter's value; bools are not integers here.
    name : str
        The parameter's name, for error messages.
    min_value : int, default 1
        The smallest allowed value.
    max_value : int or None, default None
        The largest allowed value, if any.
    max_reason : str, default ""
        What ``max_value`` is, for the error message (e.g. "the number of rows").

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    ValueError
        If ``value`` is not an integer or lies outside the bounds.

    Examples
    --------
    >>> check_int(3, "k", max_value=10, max_reason="the number of rows")
    3
    >>> check_int(2.5, "k")
    Traceback (most recent call last):
    ...
    ValueError: k must be an integer, got 2.5 (float)
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer, got {value!r} ({type(value).__name__})"
        )
    value = int(value)
    if value < min_value:
        raise ValueError(f"{name} must be at least {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(
            f"{name}={value} is larger than {max_reason or 'allowed'} ({max_value})"
        )
    return value


def check_groups(groups: object, n_rows: int) -> np.ndarray:
    """Check a per-row group assignment and relabel it as ``0 .. n_groups-1``.

    Parameters
    ----------
    groups : array-like of int, shape (n_rows,)
        The group (equivalence class) of each row.
    n_rows : int
        The number of rows of the table the groups belong to.

    Returns
    -------
    numpy.ndarray of intp
        Dense group ids, numbered in order of the original labels.

    Raises
    ------
    ValueError
        If ``groups`` is not one integer per row.

    Examples
    --------
    >>> check_groups([7, 3, 7], 3)
    array([1, 0, 1])
    """
    array = np.asarray(groups)
    if array.ndim != 1 or array.shape[0] != n_rows:
        raise ValueError(
            f"groups must hold one group id per row: expected shape ({n_rows},), "
            f"got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"groups must be integers, got dtype {array.dtype}")
    _, dense = np.unique(array, return_inverse=True)
    return dense.reshape(-1).astype(np.intp, copy=False)


def numeric_values(column: pd.Series) -> np.ndarray:
    """Return a numeric column as a NumPy array of its NumPy dtype.

    Nullable pandas dtypes (``Int64``, ``Float64``, ...) become their NumPy
    counterpart; callers have already rejected missing values.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_values(pd.Series([1, 2], dtype="Int64"))
    array([1, 2])
    """
    dtype = column.dtype
    numpy_dtype = getattr(dtype, "numpy_dtype", dtype)
    return column.to_numpy(dtype=numpy_dtype)


def nominal_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Encode a nominal column as integer codes.

    Categories are ordered by the dtype's declared order for pandas
    categoricals (unused categories included), ``False < True`` for bools and
    lexically otherwise.

    Parameters
    ----------
    column : pandas.Series
        A nominal column (see :func:`column_kind`) without missing values.

    Returns
    -------
    codes : numpy.ndarray of intp
        ``categories[codes[i]]`` is row ``i``'s value.
    categories : pandas.Index
        The categories.

    Examples
    --------
    >>> import pandas as pd
    >>> codes, categories = nominal_codes(pd.Series(["b", "a", "b"]))
    >>> codes, list(categories)
    (array([1, 0, 1]), ['a', 'b'])
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.intp)
        return codes, column.cat.categories
    if pdt.is_bool_dtype(column.dtype):
        codes = column.to_numpy(dtype=bool).astype(np.intp)
        return codes, pd.Index([False, True], dtype=object)
    codes, categories = pd.factorize(column, sort=True)
    return codes.astype(np.intp, copy=False), pd.Index(categories)


def encode_column(
    column: pd.Series, kind: ColumnKind
) -> tuple[np.ndarray, pd.Index | None]:
    """Encode a checked column of the given kind.

    Returns
    -------
    values : numpy.ndarray
        The values (numeric, see :func:`numeric_values`) or integer codes
        (nominal, see :func:`nominal_codes`).
    categories : pandas.Index or None
        The categories the codes index; ``None`` for a numeric column.
    """
    if kind == "numeric":
        return numeric_values(column), None
    return nominal_codes(column)
