"""A supervised-learning challenge with the membership-inference threat model,
computing exactly what ``anomed-challenge`` 0.0.21 computes.

The splits and the member/non-member partitions follow the same algorithms and
random streams, so that for the same data and seed both serve identical arrays
(the interop tests compare them). The metrics are the same too, including
``fpr = fp / n`` as upstream defines it.

The anonymizer's utility is whatever ``anonymizer_evaluator`` the challenge's
author chose: :func:`strict_accuracy` for a classification (upstream's
``strict_binary_accuracy``), regression metrics of
:mod:`anomed_anonymizer.scoring` (MAE, MSE, ...) for a regression.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from ..scoring import accuracy, regression_evaluator
from .datasets import Dataset

Evaluator = Callable[[np.ndarray, np.ndarray], dict[str, float]]

__all__ = [
    "MIAChallenge",
    "evaluate_membership_inference",
    "random_partition",
    "strict_accuracy",
]

Arrays = tuple[np.ndarray, np.ndarray]

#: The attack-evaluation length of ``MIAChallenge(mia_evaluation_length=None)``
#: when the data allows more.
MAX_DEFAULT_MIA_EVALUATION_LENGTH = 100


def random_partition(
    X: np.ndarray, y: np.ndarray, first_length: int, seed
) -> tuple[Arrays, Arrays]:
    """Split ``(X, y)`` into a shuffled part of ``first_length`` rows and the rest
    (``anomed_utils.random_partitions``)."""
    rng = np.random.default_rng(seed)
    indices = np.arange(len(X))
    rng.shuffle(indices)
    keep, leave = indices[:first_length], indices[first_length:]
    return (X[keep], y[keep]), (X[leave], y[leave])


def _halves(X: np.ndarray, y: np.ndarray, seed) -> tuple[Arrays, Arrays]:
    return random_partition(X, y, int(0.5 * len(X)), seed)


def strict_accuracy(
    prediction: np.ndarray, ground_truth: np.ndarray
) -> dict[str, float]:
    """``anomed_challenge.strict_binary_accuracy``: row-wise exact matches.

    Raises
    ------
    ValueError
        If either is empty, or their dtypes or shapes differ.
    """
    if len(prediction) == 0 or len(ground_truth) == 0:
        raise ValueError(
            "Accuracy is undefined for empty `prediction` or empty `ground_truth`."
        )
    if prediction.dtype != ground_truth.dtype:
        raise ValueError(
            f"Dtype mismatch of prediction ({prediction.dtype}) and ground_truth "
            f"({ground_truth.dtype})."
        )
    if prediction.shape != ground_truth.shape:
        raise ValueError(
            f"Shape mismatch of prediction {prediction.shape} and ground_truth "
            f"{ground_truth.shape}"
        )
    return {"accuracy": accuracy(prediction, ground_truth)}


def evaluate_membership_inference(
    prediction: np.ndarray, ground_truth: np.ndarray
) -> dict[str, float]:
    """``anomed_challenge.evaluate_MIA``: accuracy, TPR and ``fpr = fp / n``.

    Raises
    ------
    ValueError
        If the arrays are not boolean, differ in shape, or are empty.
    """
    if len(prediction) == 0 or len(ground_truth) == 0:
        raise ValueError(
            "Can't evaluate MIA if `prediction` or `ground_truth` is empty."
        )
    if not prediction.dtype == ground_truth.dtype == np.bool_:
        raise ValueError(
            f"Prediction's dtype ({prediction.dtype}) or ground_truth's "
            f"dtype({ground_truth.dtype}) is not `np.bool`."
        )
    if prediction.shape != ground_truth.shape:
        raise ValueError(
            f"Shape mismatch of prediction {prediction.shape} and ground_truth "
            f"{ground_truth.shape}"
        )
    tp = int(np.sum(prediction & ground_truth))
    tn = int(np.sum(~prediction & ~ground_truth))
    fp = int(np.sum(prediction & ~ground_truth))
    fn = int(np.sum(~prediction & ground_truth))
    n = len(prediction)
    if tp + fn == 0:
        raise ValueError(
            "Can't evaluate MIA if `prediction` or `ground_truth` is empty."
        )
    return {"acc": (tp + tn) / n, "tpr": tp / (tp + fn), "fpr": fp / n}


@dataclass
class MIAChallenge:
    """Training/tuning/validation splits, members and non-members, and scoring.

    Parameters
    ----------
    dataset : Dataset
        All the data.
    seed : int
        Seeds the splits and the member partition (fixed, so every worker
        process serves the same members).
    mia_evaluation_length : int | None
        Members (and non-members) per attack-evaluation set; ``None`` takes
        as many as the data allows, at most
        :data:`MAX_DEFAULT_MIA_EVALUATION_LENGTH`.
    test_size : float
        Fraction of the data held out from training (then halved into tuning
        and validation).
    evaluator : callable | None
        The challenge's ``anonymizer_evaluator(prediction, ground_truth) ->
        {name: value}``, raising ``ValueError`` for a prediction it cannot
        score. ``None`` picks by the dataset's task: :func:`strict_accuracy`
        for a classification, MSE and MAE
        (:func:`anomed_anonymizer.scoring.regression_evaluator`) for a
        regression.
    """

    dataset: Dataset
    seed: int = 42
    mia_evaluation_length: int | None = 5
    test_size: float = 0.3
    evaluator: Evaluator | None = None

    def __post_init__(self) -> None:
        if self.evaluator is None:
            self.evaluator = (
                regression_evaluator()
                if self.dataset.task == "regression"
                else strict_accuracy
            )
        X, y = self.dataset.X, self.dataset.y
        X_train, X_other, y_train, y_other = train_test_split(
            X, y, test_size=self.test_size, random_state=self.seed
        )
        X_tune, X_val, y_tune, y_val = train_test_split(
            X_other, y_other, test_size=0.5, random_state=self.seed
        )
        self.training = (X_train, y_train)
        self.tuning = (X_tune, y_tune)
        self.validation = (X_val, y_val)
        self.members, self._members_rest = _halves(X_train, y_train, self.seed)
        self.non_members, self._non_members_rest = _halves(X_val, y_val, self.seed)
        largest = min(len(self._members_rest[0]), len(self._non_members_rest[0])) // 2
        if self.mia_evaluation_length is None:
            self.mia_evaluation_length = min(MAX_DEFAULT_MIA_EVALUATION_LENGTH, largest)
        if not 0 < self.mia_evaluation_length <= largest:
            raise ValueError(
                f"mia_evaluation_length must be between 1 and {largest} for "
                f"{len(X)} samples, got {self.mia_evaluation_length}"
            )

    def evaluate(
        self, prediction: np.ndarray, ground_truth: np.ndarray
    ) -> dict[str, float]:
        """Score an anonymizer's prediction as the challenge does.

        Raises
        ------
        ValueError
            If the evaluator cannot score it (shape or dtype mismatch, ...).
        """
        return self.evaluator(prediction, ground_truth)

    def targets(self, data_split: str) -> np.ndarray:
        """Ground truth of ``tuning``; any other split means ``validation``
        (as upstream)."""
        return self.tuning[1] if data_split == "tuning" else self.validation[1]

    def attack_evaluation(
        self, anonymizer: str, deanonymizer: str, data_split: str
    ) -> tuple[Arrays, np.ndarray]:
        """The attack-success evaluation set and its true memberships.

        Deterministic per (anonymizer, deanonymizer) pair, as upstream.
        """
        seed = int(hashlib.sha256((anonymizer + deanonymizer).encode()).hexdigest(), 16)
        members_tuning, members_validation = _halves(*self._members_rest, seed)
        non_tuning, non_validation = _halves(*self._non_members_rest, seed)
        if data_split == "tuning":
            members, non_members = members_tuning, non_tuning
        else:
            members, non_members = members_validation, non_validation
        n = self.mia_evaluation_length
        members, _ = random_partition(*members, n, seed)
        non_members, _ = random_partition(*non_members, n, seed)
        X = np.concatenate((members[0], non_members[0]))
        y = np.concatenate((members[1], non_members[1]))
        memberships = np.concatenate((np.ones(n, dtype=bool), np.zeros(n, dtype=bool)))
        rng = np.random.default_rng(seed)
        order = np.arange(len(X))
        rng.shuffle(order)
        return (X[order], y[order]), memberships[order]
