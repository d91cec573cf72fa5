"""Information-loss measures for anonymized tables, and the scores of a
release.

All measures are built on the kernels of
:mod:`~anomed_anonymizer.tabular.kernels` (whose docstring defines them), in
two forms: from the *original* table and a per-row group id (the equivalence
class of a generalization, the group of a microaggregation), so that the
partition of any anonymizer, ours or another library's, is scored by the same
code on the same footing; and from the original table and a *release* in one
of the schemes (:func:`score_release`, what the emulated challenge answers).
Both forms give the same number for the same release, to the last bit: what
an anonymizer reports is what the challenge scores.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ._checks import check_groups, check_table, column_kind, encode_column
from .kernels import (
    class_penalty,
    float_values,
    group_means,
    information_loss,
    mean_penalty,
    range_penalty,
    set_penalty,
    squared_errors,
    total_variation_distance,
)

__all__ = [
    "discernibility_metric",
    "normalized_certainty_penalty",
    "release_information_loss",
    "release_marginal_tvd",
    "release_ncp",
    "release_squared_errors",
    "score_release",
    "sum_of_squares",
]


def normalized_certainty_penalty(
    table: pd.DataFrame,
    quasi_identifiers: Sequence[Hashable],
    groups: Sequence[int] | np.ndarray,
) -> float:
    """Normalized certainty penalty (NCP) of a partition into classes.

    Each row releases, for every quasi-identifier, its class's range (numeric)
    or set of categories (nominal), and every other column as it is. A range
    costs ``(class max - class min) / (table max - table min)``, a set of
    ``m`` of the column's ``n`` categories ``(m - 1) / (n - 1)``, an exact
    value nothing. The result is the mean cost over *all* cells of ``table``
    (see :mod:`~anomed_anonymizer.tabular.kernels` for why): ``0`` releases
    the table as it is, ``1`` releases nothing but the domains of a table of
    quasi-identifiers. On a table of quasi-identifiers only, it is Ghinita et
    al.'s (2007) global certainty penalty.

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
        The NCP, in ``[0, 1]``.

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
    >>> normalized_certainty_penalty(table, ["age"], [0, 0, 1, 1])
    0.1875

    With classes ``{0, 1}`` and ``{2, 3}`` the age ranges are 10 and 20 of
    the table's 40 (penalties 0.25 and 0.5), the first class holds both sexes
    (penalty 1) and the second only "f" (penalty 0): the mean over the eight
    released values is ``(2 * 0.25 + 2 * 0.5 + 2 * 1 + 2 * 0) / 8 = 0.4375``.
    Generalizing only the age, the sexes cost nothing: ``1.5 / 8 = 0.1875``.
    """
    kinds = check_table(table, quasi_identifiers, parameter="quasi_identifiers")
    dense = check_groups(groups, len(table))
    penalties = (
        class_penalty(*encode_column(table[label], kinds[label]), dense)
        for label in table.columns
        if label in kinds
    )
    return mean_penalty(penalties, len(table), table.shape[1])


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

    Each column is divided by its (population) standard deviation, so that
    every column weighs the same whatever its unit. ``SSE / SST`` is the usual
    information loss of microaggregation (Domingo-Ferrer & Mateo-Sanz 2002):
    ``0`` when every group is a single row or constant, ``1`` when all rows
    form one group.

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
    kinds = check_table(table, columns, parameter="columns", kinds=("numeric",))
    dense = check_groups(groups, len(table))
    sse = sst = 0.0
    for label in kinds:
        values = float_values(table[label])
        column_sse, column_sst = squared_errors(
            values, group_means(values, dense)[dense]
        )
        sse += column_sse
        sst += column_sst
    return sse, sst


def score_release(
    leaky: pd.DataFrame, release: pd.DataFrame, scheme: str
) -> dict[str, float]:
    """Score a release of ``leaky`` by its scheme, as the emulated challenge
    does.

    - ``same``: ``marginal_tvd`` (see :func:`release_marginal_tvd`);
    - ``generalization``: ``ncp`` (see :func:`release_ncp`);
    - ``microaggregation``: ``sse_sst`` (see :func:`release_information_loss`);

    and ``utility``, one minus that figure.

    Raises
    ------
    ValueError
        If the release is not row-aligned with ``leaky``, does not follow
        ``scheme``, or the scheme is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> leaky = pd.DataFrame({"age": [20, 30, 40, 60]})
    >>> release = pd.DataFrame(
    ...     {"age_min": [20, 20, 40, 40], "age_max": [30, 30, 60, 60]}
    ... )
    >>> score_release(leaky, release, "generalization")
    {'ncp': 0.375, 'utility': 0.625}
    """
    if len(release) != len(leaky):
        raise ValueError(
            f"the release has {len(release)} rows; the leaky table has "
            f"{len(leaky)} and releases must be row-aligned with it"
        )
    if scheme == "same":
        tvd = release_marginal_tvd(leaky, release)
        return {"marginal_tvd": tvd, "utility": 1.0 - tvd}
    if scheme == "generalization":
        ncp = release_ncp(leaky, release)
        return {"ncp": ncp, "utility": 1.0 - ncp}
    if scheme == "microaggregation":
        ratio = release_information_loss(leaky, release)
        return {"sse_sst": ratio, "utility": 1.0 - ratio}
    raise ValueError(
        f"unknown scheme {scheme!r}: expected same, generalization or microaggregation"
    )


def release_ncp(leaky: pd.DataFrame, release: pd.DataFrame) -> float:
    """NCP of a ``generalization`` release (numeric ``c_min``/``c_max``,
    nominal ``c=<category>`` indicators), over every cell of ``leaky``.

    Raises
    ------
    ValueError
        If a column of ``leaky`` is not represented in ``release``.
    """
    penalties = []
    for label in leaky.columns:
        column = leaky[label]
        if _is_numeric(column):
            low, high = f"{label}_min", f"{label}_max"
            if low not in release.columns or high not in release.columns:
                raise ValueError(
                    f"scheme 'generalization' represents numeric {label!r} as "
                    f"{low!r} and {high!r}"
                )
            penalties.append(
                range_penalty(
                    float_values(release[low]),
                    float_values(release[high]),
                    float_values(column),
                )
            )
        else:
            indicators = [c for c in release.columns if str(c).startswith(f"{label}=")]
            if not indicators:
                raise ValueError(
                    f"scheme 'generalization' represents nominal {label!r} as "
                    f"indicator columns '{label}=<category>'"
                )
            marked = release[indicators].astype(bool).sum(axis=1).to_numpy()
            penalties.append(set_penalty(marked, column.nunique()))
    return mean_penalty(penalties, len(leaky), leaky.shape[1])


def release_information_loss(leaky: pd.DataFrame, release: pd.DataFrame) -> float:
    """``SSE / SST`` of a ``microaggregation`` release (see
    :func:`release_squared_errors`).

    Raises
    ------
    ValueError
        If a numeric column of ``leaky`` is missing from ``release``, or no
        numeric column of ``leaky`` varies.
    """
    sse, sst = release_squared_errors(leaky, release)
    if sst == 0.0:
        raise ValueError("the leaky table has no varying numeric column to compare")
    return information_loss(sse, sst)


def release_squared_errors(
    leaky: pd.DataFrame, release: pd.DataFrame
) -> tuple[float, float]:
    """SSE and SST of a release over every numeric column of ``leaky``, each
    in units of its standard deviation (a column released as it is adds to
    SST only; cells the release leaves empty or non-numeric are not counted).

    Raises
    ------
    ValueError
        If a numeric column of ``leaky`` is missing from ``release``.

    Examples
    --------
    >>> import pandas as pd
    >>> leaky = pd.DataFrame({"x": [0.0, 2.0], "y": [1, 3]})
    >>> release_squared_errors(leaky, pd.DataFrame({"x": [1.0, 1.0], "y": [1, 3]}))
    (2.0, 4.0)
    """
    sse = sst = 0.0
    for label in leaky.columns:
        if not _is_numeric(leaky[label]):
            continue
        if label not in release.columns:
            raise ValueError(
                f"scheme 'microaggregation' keeps every column; {label!r} is missing"
            )
        released = pd.to_numeric(release[label], errors="coerce")
        column_sse, column_sst = squared_errors(
            float_values(leaky[label]), float_values(released)
        )
        sse += column_sse
        sst += column_sst
    return sse, sst


def release_marginal_tvd(leaky: pd.DataFrame, release: pd.DataFrame) -> float:
    """Mean total variation distance between each column's distribution in
    ``leaky`` and in a ``same`` release (numeric columns binned into the
    leaky table's deciles, values compared as text otherwise).

    Raises
    ------
    ValueError
        If a column of ``leaky`` is missing from ``release``.
    """
    distances = []
    for label in leaky.columns:
        if label not in release.columns:
            raise ValueError(f"scheme 'same' keeps every column; {label!r} is missing")
        distances.append(_marginal_tvd(leaky[label], release[label]))
    return float(np.mean(distances))


def _marginal_tvd(truth: pd.Series, released: pd.Series) -> float:
    if _is_numeric(truth):
        values = float_values(truth)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, 11)))[1:-1]
        released_values = float_values(pd.to_numeric(released, errors="coerce"))
        return total_variation_distance(
            np.digitize(values, edges),
            np.digitize(released_values, edges),
            len(edges) + 1,
        )
    codes, categories = pd.factorize(
        pd.concat([truth.astype(str), released.astype(str)], ignore_index=True)
    )
    return total_variation_distance(
        codes[: len(truth)], codes[len(truth) :], len(categories)
    )


def _is_numeric(column: pd.Series) -> bool:
    return column_kind(column) == "numeric"
