"""Data for the local challenge: an embedded default or the user's own file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..tabular._checks import listing
from ..wire import PayloadError, decode_named_arrays
from .adult import adult_like
from .glucose import GLUCOSE_SEED, glucose_curves

__all__ = [
    "EMBEDDED_DATASETS",
    "REGRESSION_DATASETS",
    "Dataset",
    "load_dataset",
    "load_table",
    "read_csv_table",
    "read_table",
]

#: Embedded regression datasets: scikit-learn's ``diabetes`` (1 output) and
#: ``linnerud`` (3 outputs), and synthetic post-meal ``glucose`` curves
#: (10 features, 12 outputs in mg/dl; see :mod:`.glucose`).
REGRESSION_DATASETS = ("diabetes", "linnerud", "glucose")

#: Datasets that need no download: scikit-learn's classification sets, then
#: :data:`REGRESSION_DATASETS`.
EMBEDDED_DATASETS = ("iris", "breast-cancer", "wine", "digits", *REGRESSION_DATASETS)

#: The tasks a supervised challenge can pose.
TASKS = ("classification", "regression")

_TABLE_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class Dataset:
    """Features and targets of a supervised-learning challenge.

    Attributes
    ----------
    name : str
        Where the data came from.
    X : numpy.ndarray
        Features, ``(n_samples, n_features)``.
    y : numpy.ndarray
        Targets: ``(n_samples,)``, or ``(n_samples, n_outputs)`` for a
        multi-output regression.
    """

    name: str
    X: np.ndarray
    y: np.ndarray

    @property
    def task(self) -> str:
        """``"regression"`` for floating-point targets, else ``"classification"``."""
        return "regression" if self.y.dtype.kind == "f" else "classification"

    @property
    def n_outputs(self) -> int:
        """Target columns: 1 for ``(n,)`` targets, ``k`` for ``(n, k)``."""
        return 1 if self.y.ndim == 1 else int(np.prod(self.y.shape[1:]))

    @property
    def n_classes(self) -> int:
        """Number of distinct targets (rows, for multi-column targets)."""
        if self.y.ndim == 1:
            return len(np.unique(self.y))
        return len(np.unique(self.y.reshape(len(self.y), -1), axis=0))

    def as_task(self, task: str) -> Dataset:
        """This data posed as ``task`` (see :data:`TASKS`).

        A regression needs numeric targets, served as float64; a
        classification takes the targets as they are.

        Raises
        ------
        ValueError
            If ``task`` is unknown, or a regression's targets are not numbers.
        """
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if task == "classification" or self.y.dtype == np.float64:
            return self
        if self.y.dtype.kind not in "biuf":
            raise ValueError(
                f"{self.name}: a regression needs numeric targets, got dtype "
                f"{self.y.dtype}"
            )
        return Dataset(self.name, self.X, self.y.astype(np.float64))

    @property
    def bounds(self) -> tuple[list[float], list[float]]:
        """Per-feature (lower, upper) bounds over the whole dataset.

        Differentially private models need data bounds up front; the demo
        takes them from the public dataset rather than the private split.
        """
        return self.X.min(axis=0).tolist(), self.X.max(axis=0).tolist()


# "01234" (a zip code), "+4930..." (a phone number): text a number would change.
_IDENTIFIER = re.compile(r"^\s*(\+|[+-]?0\d)")


def read_csv_table(path: str | Path, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    r"""Read a CSV file, keeping identifiers such as zip codes as text.

    The rule: pandas infers each column's dtype as usual, except that a column
    it would read as numbers stays text (strings) if any of its values has a
    leading zero before another digit (``01234``) or a leading ``+``
    (``+4930...``): such values are identifiers, whose meaning a number would
    change (``01234`` would become ``1234``). The columns in ``text_columns``
    stay text whatever they hold.

    Parameters
    ----------
    path : str | pathlib.Path
        The CSV file (header row first), or an open text file.
    text_columns : Iterable[str], optional
        Further columns to keep as text.

    Returns
    -------
    pandas.DataFrame
        The table.

    Raises
    ------
    ValueError
        If a name in ``text_columns`` is not a column of the file.

    Examples
    --------
    >>> import io
    >>> table = read_csv_table(io.StringIO("zip,age\n01234,30\n10115,41\n"))
    >>> table["zip"].tolist(), table["age"].tolist()
    (['01234', '10115'], [30, 41])
    """
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    if hasattr(path, "seek"):  # a file object: read it a second time
        path.seek(0)
    table = pd.read_csv(path)
    text_columns = list(text_columns)
    unknown = [name for name in text_columns if name not in table.columns]
    if unknown:
        raise ValueError(
            f"no column {', '.join(map(repr, unknown))} to keep as text "
            f"(columns: {', '.join(map(str, table.columns))})"
        )
    for name in table.columns:
        if not pd.api.types.is_numeric_dtype(table[name]):
            continue
        if name in text_columns or text[name].str.match(_IDENTIFIER).any():
            table[name] = text[name].where(table[name].notna(), None)
    return table


def load_dataset(source: str, target: str | None = None) -> Dataset:
    """Load an embedded dataset by name, or a ``.npz``, ``.csv`` or ``.parquet``.

    Parameters
    ----------
    source : str
        One of :data:`EMBEDDED_DATASETS`, or a path.
    target : str | None, optional
        For tables: the target column (required), or several separated by
        commas for a multi-output target ``(n, k)``. For ``.npz``: the name
        of the target array (default ``y``; features are ``X``).

    Returns
    -------
    Dataset
        The data, features as float64.

    Raises
    ------
    ValueError
        If the file is missing, of an unknown kind, lacks the target, or holds
        non-numeric features; the message says which.

    Examples
    --------
    >>> load_dataset("iris").X.shape
    (150, 4)
    >>> glucose = load_dataset("glucose")
    >>> glucose.task, glucose.X.shape, glucose.y.shape
    ('regression', (1200, 10), (1200, 12))
    """
    if source in EMBEDDED_DATASETS:
        return _embedded(source)
    path = Path(source)
    if not path.is_file():
        raise ValueError(
            f"{source!r} is neither an embedded dataset "
            f"({', '.join(EMBEDDED_DATASETS)}) nor an existing file"
        )
    if path.suffix.lower() == ".npz":
        return _from_npz(path, target or "y")
    if path.suffix.lower() not in _TABLE_SUFFIXES:
        raise ValueError(f"{path.name}: expected a .npz, .csv or .parquet file")
    if not target:
        raise ValueError(f"{path.name} is a table: name its target column (--target)")
    return _from_table(path.name, read_table(path), target)


def load_table(
    source: str,
    rows: int = 2000,
    seed: int = 42,
    text_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """The leaky table of a tabular challenge: ``"adult"`` (a synthetic
    Adult-like table, see :func:`adult_like`) or a ``.csv``/``.parquet`` file.

    Parameters
    ----------
    source : str
        ``"adult"`` or a path.
    rows, seed : int, optional
        Size and seed of the Adult-like table.
    text_columns : Iterable[str], optional
        Columns of a ``.csv`` to keep as text (see :func:`read_csv_table`).

    Raises
    ------
    ValueError
        If ``source`` is neither ``"adult"`` nor an existing table file.

    Examples
    --------
    >>> load_table("adult", rows=100).shape
    (100, 15)
    """
    if source == "adult":
        return adult_like(rows, seed=seed)
    path = Path(source)
    if path.suffix.lower() not in _TABLE_SUFFIXES or not path.is_file():
        raise ValueError(
            f"{source!r} is neither 'adult' nor an existing .csv/.parquet file"
        )
    return read_table(path, text_columns)


def read_table(path: str | Path, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read a ``.csv`` (see :func:`read_csv_table` for its dtypes, and
    ``text_columns``) or ``.parquet`` file (by its suffix).

    Raises
    ------
    ValueError
        If the suffix is neither.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv_table(path, text_columns)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    raise ValueError(f"{path.name}: expected a .csv or .parquet file")


def _embedded(name: str) -> Dataset:
    from sklearn import datasets

    if name == "glucose":
        X, y, _ = glucose_curves(seed=GLUCOSE_SEED)
        return Dataset(name, X, y)
    loader = {
        "iris": datasets.load_iris,
        "breast-cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "digits": datasets.load_digits,
        "diabetes": datasets.load_diabetes,
        "linnerud": datasets.load_linnerud,
    }[name]
    bunch = loader()
    y = np.asarray(bunch.target)
    if name in REGRESSION_DATASETS:
        y = y.astype(np.float64)
    return Dataset(name, np.asarray(bunch.data, dtype=np.float64), y)


def _from_npz(path: Path, target: str) -> Dataset:
    try:
        arrays = decode_named_arrays(path.read_bytes(), required=("X", target))
    except PayloadError as exc:
        raise ValueError(f"{path.name}: {exc}") from exc
    X = np.asarray(arrays["X"])
    if X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(
            f"{path.name}: X must be a 2-d numeric array, got {X.shape} {X.dtype}"
        )
    y = arrays[target]
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(
            f"{path.name}: {target} must have one row per row of X ({len(X)}), "
            f"got shape {y.shape}"
        )
    return Dataset(path.name, X.astype(np.float64), y)


def _from_table(name: str, table: pd.DataFrame, target: str) -> Dataset:
    targets = [column.strip() for column in target.split(",") if column.strip()]
    missing = [column for column in targets if column not in table.columns]
    if missing or not targets:
        raise ValueError(
            f"{name} has no column {', '.join(map(repr, missing or [target]))} "
            f"(columns: {listing(table.columns)})"
        )
    features = table.drop(columns=targets)
    non_numeric = [
        c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])
    ]
    if non_numeric:
        raise ValueError(
            f"{name}: feature columns must be numeric; "
            f"encode {listing(non_numeric)} first"
        )
    if features.isna().any().any():
        raise ValueError(f"{name}: features contain missing values")
    if len(targets) == 1:
        y = table[targets[0]].to_numpy()
    else:
        not_numbers = [
            c for c in targets if not pd.api.types.is_numeric_dtype(table[c])
        ]
        if not_numbers:
            raise ValueError(
                f"{name}: a target of several columns must be numeric; "
                f"{listing(not_numbers)} is not"
            )
        y = table[targets].to_numpy(dtype=np.float64)
    if pd.isna(y).any():
        raise ValueError(f"{name}: the target {listing(targets)} has missing values")
    return Dataset(name, features.to_numpy(dtype=np.float64), y)
