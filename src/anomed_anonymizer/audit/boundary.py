"""Label-only membership inference by the distance to the decision boundary.

Choquette-Choo et al. 2021 ("Label-only membership inference attacks"): a
model pushes its decision boundary away from the samples it was trained on,
so a member lies farther from the boundary than a non-member. The distance
is estimated with HopSkipJump (Chen et al. 2020), which needs nothing but
predicted labels; a sample the model labels wrongly is at distance 0.

:class:`BoundaryDistanceAttack` runs HopSkipJump on all samples at once:

- every round asks the model about all samples' queries in one batch (a
  served model answers in a few hundred requests, however many samples);
- each sample's queries are capped (``max_queries``): an iteration starts
  only if its most expensive outcome still fits, so the cap is never passed;
- every random draw comes from one seeded generator: an audit repeats.

ART's ``LabelOnlyDecisionBoundary`` runs the same algorithm one sample and
one query at a time (about 80 single-row requests per sample at 5
iterations), draws its starting points from an unseeded generator, and has
no cap on the step-size search's queries; hence this implementation, which
follows ART's ``HopSkipJump`` (its step sizes, its gradient estimate with
baseline, its geometric step search) in lockstep.

Distances are measured in standardized features (each divided by its
standard deviation over the attacked samples), so that a feature in
thousands does not outweigh one in fractions, and every query stays within
each feature's observed range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .targets import Predictor

__all__ = ["BoundaryDistanceAttack", "min_boundary_queries"]

#: Bisection steps per binary search: the boundary is located to 1/1024 of
#: the searched segment (ART's threshold for about 100 features).
BINARY_STEPS = 10
#: Halvings of the step size before an iteration gives up on its step.
MAX_HALVINGS = 10
#: Numbers held at once by the largest arrays (distances between samples,
#: gradient probes): 32 MiB of float64, so that large audits fit in memory.
_BLOCK = 1 << 22


def _gradient_queries(iteration: int, init_eval: int, max_eval: int) -> int:
    """Queries of the gradient estimate at ``iteration`` (HopSkipJump's
    ``init_eval * sqrt(t + 1)``, at most ``max_eval``)."""
    return min(int(init_eval * math.sqrt(iteration + 1)), max_eval)


def _iteration_cost(iteration: int, init_eval: int, max_eval: int) -> int:
    """Queries one iteration may take at most: gradient, step search, bisection."""
    gradient = _gradient_queries(iteration, init_eval, max_eval)
    return gradient + MAX_HALVINGS + BINARY_STEPS


def min_boundary_queries(init_eval: int = 10, max_eval: int = 100) -> int:
    """The smallest per-sample budget that runs one HopSkipJump iteration.

    One query for the sample's label, a binary search towards its starting
    point, then one iteration at its most expensive.

    Examples
    --------
    >>> min_boundary_queries()
    41
    """
    return 1 + BINARY_STEPS + _iteration_cost(0, init_eval, max_eval)


class BoundaryDistanceAttack:
    """Distance to the decision boundary by HopSkipJump, with capped queries.

    Parameters
    ----------
    predict : Predictor
        The model under attack: features in, one label per row out.
    max_queries : int, optional
        Most rows any one sample may cost (its label included); at least
        :func:`min_boundary_queries`.
    init_eval, max_eval : int, optional
        Random directions of the gradient estimate at the first iteration,
        and at most (HopSkipJump's ``init_eval * sqrt(t + 1)`` schedule).
    seed : int, optional
        Seeds the random directions.

    Attributes
    ----------
    queries_ : numpy.ndarray
        After :meth:`distances`: the rows each sample cost.
    requests_ : int
        After :meth:`distances`: the calls of ``predict`` (batches).
    iterations_ : numpy.ndarray
        After :meth:`distances`: HopSkipJump iterations per sample.
    found_ : numpy.ndarray
        After :meth:`distances`: whether a differently labelled point was
        known for the sample (``False``: no other label among the samples).
    points_ : numpy.ndarray
        After :meth:`distances`: per sample, the nearest point found that
        the model labels otherwise than the sample's true label, in the
        original features (the sample itself where it is misclassified; NaN
        where none was found).

    Examples
    --------
    A threshold at 0 on one feature: a sample's distance is ``|x|`` (in
    standard deviations of the samples).

    >>> X = np.linspace(-1, 1, 21)[:, None]
    >>> y = (X[:, 0] > 0).astype(int)
    >>> attack = BoundaryDistanceAttack(lambda X: (X[:, 0] > 0).astype(int))
    >>> d = attack.distances(X, y) * X.std()
    >>> bool(np.allclose(d[X[:, 0] != 0], np.abs(X[X[:, 0] != 0, 0]), atol=0.01))
    True
    >>> bool(attack.queries_.max() <= 200)
    True
    """

    def __init__(
        self,
        predict: Predictor,
        max_queries: int = 200,
        *,
        init_eval: int = 10,
        max_eval: int = 100,
        seed: int = 0,
    ) -> None:
        for name, value in (("init_eval", init_eval), ("max_eval", max_eval)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if init_eval > max_eval:
            raise ValueError(
                f"init_eval ({init_eval}) must not exceed max_eval ({max_eval})"
            )
        least = min_boundary_queries(init_eval, max_eval)
        if not _is_int(max_queries) or max_queries < least:
            raise ValueError(
                f"max_queries must be an integer of at least {least} (a label, a "
                f"binary search and one HopSkipJump iteration), got {max_queries!r}"
            )
        self.predict = predict
        self.max_queries = int(max_queries)
        self.init_eval = init_eval
        self.max_eval = max_eval
        self.seed = seed

    def distances(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each sample's estimated L2 distance to the decision boundary.

        Parameters
        ----------
        X : numpy.ndarray
            The samples, shape ``(n, features)``; they also fix the
            standardization, the range queries stay in, and the starting
            points (for each sample, the nearest sample labelled otherwise).
        y : numpy.ndarray
            Their true labels.

        Returns
        -------
        numpy.ndarray
            Distances in standardized features: 0 where the model labels the
            sample wrongly; where no sample is labelled otherwise (a model
            with one answer), the diameter of the features' range, farther
            than any boundary within it.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or y.shape != (len(X),):
            raise ValueError(
                f"expected X of shape (n, features) and y of shape (n,), got "
                f"{X.shape} and {y.shape}"
            )
        self._start(X)
        rng = np.random.default_rng(self.seed)
        n = len(X)
        self.queries_ = np.zeros(n, np.int64)
        self.iterations_ = np.zeros(n, np.int64)
        self.requests_ = 0
        labels = self._ask(X, np.arange(n))
        z = (X - self.center_) / self.scale_
        correct = labels == y
        start = _nearest_other(z, labels)
        self.found_ = start >= 0
        diameter = float(np.linalg.norm(self.upper_ - self.lower_))
        distance = np.where(correct, diameter, 0.0)
        self.points_ = np.where(correct[:, None], np.nan, X)
        active = np.flatnonzero(correct & self.found_)
        if len(active) == 0:
            return distance
        origin, label = z[active], labels[active]
        boundary = self._bisect(active, origin, z[start[active]], label)
        nearest = boundary.copy()
        best = np.linalg.norm(boundary - origin, axis=1)
        for t in range(self.max_queries):
            fits = self.queries_[active] + _iteration_cost(
                t, self.init_eval, self.max_eval
            )
            go = fits <= self.max_queries
            if not go.any():
                break
            rows = np.flatnonzero(go)
            stepped = self._iterate(
                t, active[rows], origin[rows], boundary[rows], label[rows], rng
            )
            boundary[rows] = stepped
            gained = np.linalg.norm(stepped - origin[rows], axis=1) < best[rows]
            closer = rows[gained]
            nearest[closer] = stepped[gained]
            best[closer] = np.linalg.norm(stepped[gained] - origin[closer], axis=1)
            self.iterations_[active[rows]] += 1
        distance[active] = best
        self.points_[active] = nearest * self.scale_ + self.center_
        return distance

    # -- HopSkipJump, all samples in lockstep -----------------------------------

    def _iterate(self, t, index, origin, boundary, label, rng) -> np.ndarray:
        """One iteration: estimate the boundary's normal at ``boundary``, step
        along it (halving until still across), and bisect back towards the
        samples. Returns the new boundary points (all labelled otherwise)."""
        dist = np.linalg.norm(boundary - origin, axis=1)
        # As ART: a wide first probe (10 %), then 1 % of the distance.
        delta = (0.1 if t == 0 else 0.01) * dist
        direction = self._gradient(t, index, boundary, label, delta, rng)
        step = dist / math.sqrt(t + 1)
        pending = np.ones(len(index), bool)
        ahead = boundary.copy()
        for _ in range(MAX_HALVINGS):
            rows = np.flatnonzero(pending)
            if len(rows) == 0:
                break
            trial = self._clip(boundary[rows] + step[rows, None] * direction[rows])
            across = self._ask_z(trial, index[rows]) != label[rows]
            ahead[rows[across]] = trial[across]
            pending[rows[across]] = False
            step[rows[~across]] /= 2.0
        moved = np.flatnonzero(~pending)
        result = boundary.copy()
        if len(moved):
            result[moved] = self._bisect(
                index[moved], origin[moved], ahead[moved], label[moved]
            )
        return result

    def _gradient(self, t, index, boundary, label, delta, rng) -> np.ndarray:
        """Unit estimates of the directions in which the labels change
        (HopSkipJump's Monte-Carlo estimate with baseline), a block of
        samples per call of the model."""
        count = _gradient_queries(t, self.init_eval, self.max_eval)
        rows = max(1, _BLOCK // (count * boundary.shape[1]))
        return np.concatenate(
            [
                self._gradient_block(
                    count,
                    index[i : i + rows],
                    boundary[i : i + rows],
                    label[i : i + rows],
                    delta[i : i + rows],
                    rng,
                )
                for i in range(0, len(index), rows)
            ]
        )

    def _gradient_block(self, count, index, boundary, label, delta, rng):
        noise = rng.standard_normal((len(index), count, boundary.shape[1]))
        noise *= self.movable_
        norms = np.linalg.norm(noise, axis=2, keepdims=True)
        noise /= np.where(norms > 0, norms, 1.0)
        probes = self._clip(boundary[:, None, :] + delta[:, None, None] * noise)
        safe = np.where(delta > 0, delta, 1.0)[:, None, None]
        noise = (probes - boundary[:, None, :]) / safe
        answers = self._ask_z(
            probes.reshape(-1, boundary.shape[1]), np.repeat(index, count)
        ).reshape(len(index), count)
        sign = np.where(answers != label[:, None], 1.0, -1.0)
        mean = sign.mean(axis=1, keepdims=True)
        weight = np.where(np.abs(mean) == 1.0, mean, sign - mean)
        grad = (weight[:, :, None] * noise).mean(axis=1)
        norm = np.linalg.norm(grad, axis=1, keepdims=True)
        return grad / np.where(norm > 0, norm, 1.0)

    def _bisect(self, index, origin, across, label) -> np.ndarray:
        """Binary search on each segment from a sample (its label) to a point
        labelled otherwise; the point found is labelled otherwise."""
        low = np.zeros(len(index))
        high = np.ones(len(index))
        for _ in range(BINARY_STEPS):
            mid = (low + high) / 2.0
            point = origin + mid[:, None] * (across - origin)
            changed = self._ask_z(point, index) != label
            high = np.where(changed, mid, high)
            low = np.where(changed, low, mid)
        return origin + high[:, None] * (across - origin)

    # -- queries --------------------------------------------------------------

    def _start(self, X: np.ndarray) -> None:
        self.center_ = X.mean(axis=0)
        spread = X.std(axis=0)
        self.movable_ = spread > 0
        self.scale_ = np.where(self.movable_, spread, 1.0)
        self.lower_ = (X.min(axis=0) - self.center_) / self.scale_
        self.upper_ = (X.max(axis=0) - self.center_) / self.scale_

    def _clip(self, z: np.ndarray) -> np.ndarray:
        return np.clip(z, self.lower_, self.upper_)

    def _ask_z(self, z: np.ndarray, index: np.ndarray) -> np.ndarray:
        return self._ask(z * self.scale_ + self.center_, index)

    def _ask(self, X: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Labels of ``X`` in one call, each row charged to its sample."""
        self.requests_ += 1
        np.add.at(self.queries_, index, 1)
        labels = np.asarray(self.predict(X))
        if labels.shape != (len(X),):
            raise ValueError(
                f"the model answered {len(X)} rows with labels of shape "
                f"{labels.shape}; the boundary attack needs one label per row"
            )
        return labels

    def details(self) -> dict[str, Any]:
        """What the last :meth:`distances` cost, for the report."""
        return {
            "max_queries_per_sample": self.max_queries,
            "queries": int(self.queries_.sum()),
            "most_queries_of_a_sample": int(self.queries_.max(initial=0)),
            "requests": self.requests_,
            "iterations": int(self.iterations_.max(initial=0)),
            "gradient_queries": [self.init_eval, self.max_eval],
            "no_other_label": int((~self.found_).sum()),
            "distance": "L2 in standardized features; 0 if misclassified",
        }


def _nearest_other(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each row, the nearest other row with another label (-1 if none)."""
    nearest = np.full(len(z), -1, np.int64)
    squares = np.einsum("ij,ij->i", z, z)
    rows = max(1, _BLOCK // max(1, len(z)))
    for first in range(0, len(z), rows):
        block = slice(first, first + rows)
        gaps = squares[block, None] - 2.0 * z[block] @ z.T + squares[None, :]
        gaps[labels[block, None] == labels[None, :]] = np.inf
        best = np.argmin(gaps, axis=1)
        found = np.isfinite(gaps[np.arange(len(best)), best])
        nearest[block] = np.where(found, best, -1)
    return nearest


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)
