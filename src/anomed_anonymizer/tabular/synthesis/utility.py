"""Utility of a synthetic table: distances between its marginals and the input's.

These figures compare the output with the *private* input, so they are for
the data owner (``report_``), never for the budget record.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..kernels import total_variation_distance as tvd
from .domains import BinnedCodec, Codec

__all__ = ["synthetic_utility"]


def synthetic_utility(
    table: pd.DataFrame, anon: pd.DataFrame, codecs: Mapping[Any, Codec]
) -> dict[str, Any]:
    """Marginal and pairwise TVDs and correlation differences, input vs output.

    Categorical columns are compared on their values (a value the release
    replaced by "other" counts as a difference); binned columns on the release's
    bins, the same for both, with values clipped to the bounds.
    """
    labels = list(table.columns)
    coded = [_shared_codes(table[c], anon[c], codecs[c]) for c in labels]
    per_column = {
        str(label): tvd(x, y, size)
        for label, (x, y, size) in zip(labels, coded, strict=True)
    }
    # A pair's joint code is i * size_j + j: its two-way marginal as one column.
    pairwise = [
        tvd(xi * sj + xj, yi * sj + yj, si * sj)
        for (xi, yi, si), (xj, yj, sj) in itertools.combinations(coded, 2)
    ]
    binned = [i for i, c in enumerate(labels) if isinstance(codecs[c], BinnedCodec)]
    max_corr, mean_corr = _correlation_difference(
        [coded[i][0] for i in binned], [coded[i][1] for i in binned]
    )
    return {
        "tvd": per_column,
        "mean_tvd": float(np.mean(list(per_column.values()))),
        "max_tvd": float(np.max(list(per_column.values()))),
        "mean_pairwise_tvd": float(np.mean(pairwise)) if pairwise else None,
        "max_abs_correlation_difference": max_corr,
        "mean_abs_correlation_difference": mean_corr,
    }


def _shared_codes(
    before: pd.Series, after: pd.Series, codec: Codec
) -> tuple[np.ndarray, np.ndarray, int]:
    if isinstance(codec, BinnedCodec):
        return (
            codec.bin_index(before.to_numpy(dtype=np.float64)),
            codec.bin_index(after.to_numpy(dtype=np.float64)),
            codec.n_bins,
        )
    both = pd.concat([before.astype(object), after.astype(object)], ignore_index=True)
    codes, uniques = pd.factorize(both)
    return codes[: len(before)], codes[len(before) :], len(uniques)


def _correlation_difference(
    before: list[np.ndarray], after: list[np.ndarray]
) -> tuple[float | None, float | None]:
    if len(before) < 2:
        return None, None
    with np.errstate(invalid="ignore", divide="ignore"):
        # Bin codes rather than raw values: the same bins as the TVDs, and
        # clipped outliers do not dominate the input's correlations.
        diff = np.abs(np.corrcoef(np.stack(before)) - np.corrcoef(np.stack(after)))
    diff = diff[np.triu_indices(len(before), k=1)]
    # A constant column has no correlation; its pairs are left out.
    diff = diff[np.isfinite(diff)]
    if not diff.size:
        return None, None
    return float(diff.max()), float(diff.mean())
