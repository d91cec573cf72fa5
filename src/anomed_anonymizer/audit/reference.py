"""Reference models: copies of the user's anonymizer refitted on random halves.

Each sample of the population is in the training half of exactly half of
the models (the design of Carlini et al. 2022), so that every sample has as
many IN as OUT models. The models train in parallel through joblib: under
``joblib.parallel_config(backend="dask")`` (with a ``distributed.Client``) or
``backend="ray"`` they spread over a cluster with no change here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from .targets import fit_copy, true_label_probability

__all__ = ["membership_design", "train_reference_models"]


def membership_design(n_samples: int, n_models: int, seed: int) -> np.ndarray:
    """Which samples each model trains on: ``(n_models, n_samples)`` booleans.

    Every sample is IN for exactly ``n_models // 2`` models; each model gets
    about half of the samples.

    Examples
    --------
    >>> design = membership_design(6, 4, seed=0)
    >>> design.sum(axis=0).tolist()
    [2, 2, 2, 2, 2, 2]
    """
    if n_models < 2 or n_models % 2:
        raise ValueError(
            f"reference models must be an even number >= 2, got {n_models}"
        )
    rng = np.random.default_rng(seed)
    order = rng.random((n_models, n_samples)).argsort(axis=0)
    return order < n_models // 2


def _reference_signal(
    index: int,
    anonymizer: Any,
    X: np.ndarray,
    y: np.ndarray,
    keep: np.ndarray,
    seed: int,
    signal: Callable[[Any, np.ndarray, np.ndarray], np.ndarray],
) -> tuple[int, np.ndarray]:
    model = fit_copy(anonymizer, X[keep], y[keep], seed)
    return index, np.asarray(signal(model, X, y), dtype=np.float64)


def train_reference_models(
    anonymizer: Any,
    X: np.ndarray,
    y: np.ndarray,
    design: np.ndarray,
    *,
    n_jobs: int | None = None,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    signal: Callable[[Any, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Fit one copy of ``anonymizer`` per row of ``design``, in parallel.

    Parameters
    ----------
    anonymizer : SupervisedLearningAnonymizer
        Unfitted; deep-copied for every model.
    X, y : numpy.ndarray
        The population.
    design : numpy.ndarray
        From :func:`membership_design`.
    n_jobs : int | None, optional
        joblib's ``n_jobs``; ``None`` takes it from an enclosing
        ``joblib.parallel_config`` (1 without one).
    seed : int, optional
        Seeds each model's fit (model ``i`` gets ``seed + i``).
    progress : Callable[[int], None] | None, optional
        Called with 1 whenever a model is done.
    signal : Callable | None, optional
        ``signal(fitted_model, X, y)``: what each model says about each
        sample, ``(n_samples, ...)``; default
        :func:`~.targets.true_label_probability`. A module-level function,
        so that joblib can send it to other processes.

    Returns
    -------
    numpy.ndarray
        ``(n_models, n_samples, ...)``: each model's signal (by default the
        probability each model gives each sample's true label).
    """
    signal = true_label_probability if signal is None else signal
    tasks = (
        delayed(_reference_signal)(i, anonymizer, X, y, keep, seed + i, signal)
        for i, keep in enumerate(design)
    )
    signals: np.ndarray | None = None
    runner = Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator_unordered")
    for index, values in runner(tasks):
        if signals is None:
            signals = np.empty((len(design), *values.shape), dtype=np.float64)
        signals[index] = values
        if progress is not None:
            progress(1)
    if signals is None:
        return np.empty(design.shape, dtype=np.float64)
    return signals
