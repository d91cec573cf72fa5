"""Member and non-member sets whose labels are distributed alike.

An attack that sees the true label (ART's does) learns ``P(member | label)``.
If a random split left class 3 more often among the members, that prior
"detects" members although the model leaks nothing; and when the halves of a
cross-fitting swap roles, the same prior points the wrong way, pushing the
AUC below 0.5. So every split here is stratified by label: members and
non-members hold each class equally often, and so does each fold.
"""

from __future__ import annotations

import numpy as np

__all__ = ["balance", "balance_indices", "member_split", "stratified_folds"]


def _by_class(labels: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Per class (in sorted order), the row indices of that class, shuffled."""
    labels = np.asarray(labels)
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def member_split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half of each class as members, as many of it as non-members.

    Of a class with an odd count one sample is left out, so that both sets
    hold every class equally often.

    Examples
    --------
    >>> members, non_members = member_split(np.array([0, 0, 0, 1, 1, 1, 1]), seed=0)
    >>> len(members), len(non_members)
    (3, 3)
    """
    rng = np.random.default_rng(seed)
    members, non_members = [], []
    for rows in _by_class(labels, rng):
        half = len(rows) // 2
        members.append(rows[:half])
        non_members.append(rows[half : 2 * half])
    return np.sort(np.concatenate(members)), np.sort(np.concatenate(non_members))


def stratified_folds(labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """Two folds of the row indices, each with half of every class."""
    rng = np.random.default_rng(seed)
    folds: list[list[np.ndarray]] = [[], []]
    for rows in _by_class(labels, rng):
        folds[0].append(rows[0::2])
        folds[1].append(rows[1::2])
    return [np.sort(np.concatenate(fold)) for fold in folds]


def balance(
    X_m: np.ndarray, y_m: np.ndarray, X_n: np.ndarray, y_n: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Subsample members and non-members (seeded) so that each class occurs
    equally often in both; order is kept.

    Examples
    --------
    >>> X_m, y_m = np.zeros((5, 1)), np.array([0, 0, 0, 1, 1])
    >>> X_n, y_n = np.ones((3, 1)), np.array([0, 1, 2])
    >>> [s.tolist() for s in balance(X_m, y_m, X_n, y_n)[1::2]]
    [[0, 1], [0, 1]]
    """
    keep_m, keep_n = balance_indices(y_m, y_n, seed)
    return X_m[keep_m], y_m[keep_m], X_n[keep_n], y_n[keep_n]


def balance_indices(
    y_m: np.ndarray, y_n: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The rows :func:`balance` keeps of the members and of the non-members
    (sorted), so that its results can be traced back to the given rows.

    Examples
    --------
    >>> keep_m, keep_n = balance_indices(np.array([0, 0, 1]), np.array([1, 0]))
    >>> len(keep_m), keep_m[-1].item(), keep_n.tolist()
    (2, 2, [0, 1])
    """
    rng = np.random.default_rng(seed)
    keep_m, keep_n = [], []
    for c in np.intersect1d(np.unique(y_m), np.unique(y_n)):
        rows_m = rng.permutation(np.flatnonzero(y_m == c))
        rows_n = rng.permutation(np.flatnonzero(y_n == c))
        size = min(len(rows_m), len(rows_n))
        keep_m.append(rows_m[:size])
        keep_n.append(rows_n[:size])
    keep_m = np.sort(np.concatenate(keep_m)) if keep_m else np.array([], int)
    keep_n = np.sort(np.concatenate(keep_n)) if keep_n else np.array([], int)
    return keep_m, keep_n
