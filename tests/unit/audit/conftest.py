"""Targets for the audit's validation: a model that memorizes, a DP model.

Datasets come with scikit-learn (no download); every random choice is seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

import anomed_anonymizer as anon
from anomed_anonymizer.audit import MembershipAudit


def noisy_digits(rate: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Digits (1797 x 64) with a fraction of labels replaced at random: a
    model that fits them memorizes its members."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < rate
    y = y.copy()
    y[flip] = rng.integers(0, 10, flip.sum())
    return X.astype(np.float64), y


def validate_digits(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2 or feature_array.shape[1] != 64:
        raise ValueError("expected shape (n_samples, 64)")


def one_nearest_neighbour() -> anon.WrappedAnonymizer:
    from sklearn.neighbors import KNeighborsClassifier

    return anon.WrappedAnonymizer(
        KNeighborsClassifier(n_neighbors=1),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate_digits,
    )


def dp_naive_bayes(
    epsilon: float, random_state: int | None = None
) -> anon.WrappedAnonymizer:
    """diffprivlib's naive Bayes; without ``random_state`` it draws from the
    OS's secure source (the audit seeds its own copies)."""
    from diffprivlib.models import GaussianNB

    return anon.WrappedAnonymizer(
        GaussianNB(epsilon=epsilon, bounds=(0.0, 16.0), random_state=random_state),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate_digits,
    )


@pytest.fixture(scope="module")
def digits():
    return noisy_digits()


@pytest.fixture(scope="module")
def overfit_audit(digits):
    """The audit of a 1-NN on noisy digits (8 reference models), and the
    audit object (its ``target_`` and member split)."""
    audit = MembershipAudit(reference_models=8, seed=0, n_bootstrap=400)
    report = audit.run(one_nearest_neighbour(), *digits, name="1-NN")
    return audit, report


@pytest.fixture(scope="module")
def dp_report(digits):
    audit = MembershipAudit(reference_models=8, seed=0, n_bootstrap=400)
    return audit.run(dp_naive_bayes(0.1), *digits, name="DP naive Bayes")
