"""Utility of a release, on the package's shared metrics.

The scheme's own figure -- NCP for ``generalization``, SSE/SST for
``microaggregation``, mean marginal TVD for ``same`` -- is
:func:`~anomed_anonymizer.tabular.metrics.score_release`, the function the
emulated challenge answers ``/utility/anonymizer`` with: the audit's figure is
the challenge's score, to the last bit.

Marginal and pairwise total variation distances are reported for every
scheme, on the bins the challenge uses (a numeric column's deciles in the
leaky table, a nominal column's values):

- a point release (``same``, ``microaggregation``) is binned like the leaky
  table, through the shared TVD kernel;
- a ``generalization`` release gives every row a range or a set of
  categories, read as the uniform distribution over it (integers for integer
  columns): the released distribution is the mean of the rows' distributions,
  and a pair's joint distribution the mean of the rows' products. On a
  release of single points this is exactly the binned figure.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ..tabular.kernels import total_variation_distance
from ..tabular.metrics import release_marginal_tvd, score_release
from ._release import ReleasedCells, _NominalCells, _NumericCells

__all__ = ["Marginal", "release_utility"]


@dataclass(frozen=True)
class Marginal:
    """One column's distribution in the leaky table and in the release.

    Attributes
    ----------
    column : Hashable
        The column.
    labels : list of str
        The bins (numeric: value ranges) or categories.
    leaky, released : numpy.ndarray
        The two distributions over ``labels``.
    tvd : float
        Their total variation distance.
    """

    column: Hashable
    labels: list[str]
    leaky: np.ndarray
    released: np.ndarray
    tvd: float


def release_utility(
    original: pd.DataFrame,
    release: pd.DataFrame,
    scheme: str,
    cells: ReleasedCells,
) -> tuple[dict[str, Any], list[Marginal]]:
    """The utility figures of a release of ``original``.

    Returns
    -------
    utility : dict
        ``ncp`` (``generalization``, else ``None``), ``sse_sst``
        (``microaggregation``, else ``None``), ``mean_tvd``,
        ``mean_pairwise_tvd`` (``None`` for a one-column table) and
        ``challenge_score``: what the challenge answers for this release.
    marginals : list of Marginal
        Every column's two distributions, for plots.

    Raises
    ------
    ValueError
        If the release does not follow its scheme (see
        :func:`~anomed_anonymizer.tabular.metrics.score_release`).
    """
    score = score_release(original, release, scheme)
    weights = {
        label: _column_weights(original[label], cells.cells[label], release, scheme)
        for label in original.columns
    }
    marginals = [_marginal(label, weights[label]) for label in original.columns]
    if scheme == "generalization":
        mean_tvd = float(np.mean([m.tvd for m in marginals]))
    else:
        mean_tvd = release_marginal_tvd(original, release)
    pairs = list(itertools.combinations(original.columns, 2))
    pairwise = [_pairwise_tvd(weights[a], weights[b], scheme) for a, b in pairs]
    utility = {
        "ncp": score.get("ncp"),
        "sse_sst": score.get("sse_sst"),
        "mean_tvd": mean_tvd,
        "mean_pairwise_tvd": float(np.mean(pairwise)) if pairwise else None,
        "challenge_score": score,
    }
    return utility, marginals


@dataclass(frozen=True)
class _Weights:
    labels: list[str]
    leaky_codes: np.ndarray  # (n,) code of each leaky value
    released: np.ndarray  # (m, n_codes) each released row's distribution
    released_codes: np.ndarray | None  # (m,) for point releases


def _column_weights(
    leaky: pd.Series,
    cells: _NumericCells | _NominalCells,
    release: pd.DataFrame,
    scheme: str,
) -> _Weights:
    if isinstance(cells, _NumericCells):
        values = leaky.to_numpy(dtype=np.float64, na_value=np.nan)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, 11)))[1:-1]
        labels = _bin_labels(edges)
        codes = np.digitize(values, edges)
        if scheme != "generalization":
            released_values = pd.to_numeric(release[leaky.name], errors="coerce")
            point = np.digitize(
                released_values.to_numpy(dtype=np.float64, na_value=np.nan), edges
            )
            return _Weights(labels, codes, _one_hot(point, len(labels)), point)
        spread = _range_weights(
            cells.lo, cells.hi, edges, integer=pdt.is_integer_dtype(leaky.dtype)
        )
        return _Weights(labels, codes, spread, None)
    text = leaky.astype(str)
    if scheme != "generalization":
        both = pd.concat([text, release[leaky.name].astype(str)], ignore_index=True)
        all_codes, categories = pd.factorize(both)
        labels = [str(c) for c in categories]
        point = all_codes[len(text) :]
        return _Weights(
            labels, all_codes[: len(text)], _one_hot(point, len(labels)), point
        )
    # Leaky categories first (in order of appearance), then any category only
    # the release names.
    leaky_codes, categories = pd.factorize(text)
    labels = [str(c) for c in categories]
    labels += [c for c in cells.categories if c not in set(labels)]
    position = {label: i for i, label in enumerate(labels)}
    member = cells.member[:, :-1].astype(np.float64)
    spread = np.zeros((len(member), len(labels)))
    for j, category in enumerate(cells.categories):
        spread[:, position[category]] += member[:, j]
    counts = spread.sum(axis=1, keepdims=True)
    spread = np.divide(spread, counts, out=np.zeros_like(spread), where=counts > 0)
    return _Weights(labels, leaky_codes, spread, None)


def _range_weights(
    lo: np.ndarray, hi: np.ndarray, edges: np.ndarray, integer: bool
) -> np.ndarray:
    """Each range's mass per bin (bins as ``np.digitize(x, edges)`` makes them)."""
    cuts = np.concatenate(([-np.inf], edges, [np.inf]))
    if integer:
        first, last = np.ceil(lo), np.floor(hi)
        n = np.maximum(last - first + 1, 0)

        # The number of the range's integers below each cut.
        cdf = np.clip(np.ceil(cuts[None, :]) - first[:, None], 0, n[:, None])
        total = n[:, None]
    else:
        # The share of each range below each cut; a point range lies wholly
        # in the bin whose left cut it reaches.
        width = (hi - lo)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.clip((cuts[None, :] - lo[:, None]) / width, 0, 1)
        cdf = np.where(width > 0, inside, (cuts[None, :] > lo[:, None]) * 1.0)
        total = np.ones((len(lo), 1))
    cdf[:, 0], cdf[:, -1] = 0.0, total[:, 0]
    mass = np.diff(cdf, axis=1)
    return np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)


def _one_hot(codes: np.ndarray, n_codes: int) -> np.ndarray:
    weights = np.zeros((len(codes), n_codes))
    valid = (codes >= 0) & (codes < n_codes)
    weights[np.flatnonzero(valid), codes[valid]] = 1.0
    return weights


def _marginal(label: Hashable, weights: _Weights) -> Marginal:
    n_codes = len(weights.labels)
    leaky = np.bincount(weights.leaky_codes, minlength=n_codes) / len(
        weights.leaky_codes
    )
    if weights.released_codes is not None:
        released = np.bincount(weights.released_codes, minlength=n_codes) / len(
            weights.released_codes
        )
        tvd = total_variation_distance(
            weights.leaky_codes, weights.released_codes, n_codes
        )
    else:
        mass = weights.released.sum(axis=0)
        released = mass / mass.sum()
        tvd = float(min(0.5 * np.abs(leaky - released).sum(), 1.0))
    return Marginal(label, weights.labels, leaky, released, tvd)


def _pairwise_tvd(a: _Weights, b: _Weights, scheme: str) -> float:
    n_b = len(b.labels)
    n_codes = len(a.labels) * n_b
    leaky = a.leaky_codes * n_b + b.leaky_codes
    if a.released_codes is not None and b.released_codes is not None:
        released = a.released_codes * n_b + b.released_codes
        return total_variation_distance(leaky, released, n_codes)
    p = np.bincount(leaky, minlength=n_codes) / len(leaky)
    joint = (a.released.T @ b.released).reshape(-1)
    q = joint / joint.sum()
    return float(min(0.5 * np.abs(p - q).sum(), 1.0))


def _bin_labels(edges: np.ndarray) -> list[str]:
    def fmt(x: float) -> str:
        return f"{x:.4g}"

    if not len(edges):
        return ["all"]
    labels = [f"< {fmt(edges[0])}"]
    labels += [f"{fmt(lo)}-{fmt(hi)}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f">= {fmt(edges[-1])}")
    return labels
