"""The interface every supervised-learning anonymizer offers the server."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

__all__ = ["SupervisedLearningAnonymizer"]


class SupervisedLearningAnonymizer(ABC):
    """A privacy-preserving model that follows the supervised-learning paradigm.

    Subclasses define how to fit the model from a feature and a target array
    (hyperparameters are fixed up front), how to predict, how to save the
    fitted model, and which feature arrays they accept.
    """

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Run a full training (all epochs) on features ``X`` and targets ``y``.

        Parameters
        ----------
        X : numpy.ndarray
            The feature array.
        y : numpy.ndarray
            The target array.
        """

    @abstractmethod
    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Infer the targets of ``X``.

        Parameters
        ----------
        X : numpy.ndarray
            The features.
        batch_size : int | None, optional
            Process at most this many rows at once (to bound memory). ``None``
            processes ``X`` whole.

        Returns
        -------
        numpy.ndarray
            One prediction per row of ``X``.
        """

    @abstractmethod
    def save(self, filepath: str | Path) -> None:
        """Save the fitted model to ``filepath``.

        Parameters
        ----------
        filepath : str | pathlib.Path
            Where to write. The server passes a temporary path and renames it
            into place afterwards, so implementations need no atomicity.
        """

    @abstractmethod
    def validate_input(self, feature_array: np.ndarray) -> None:
        """Check that ``feature_array`` is a valid ``X`` for ``fit``/``predict``.

        Parameters
        ----------
        feature_array : numpy.ndarray
            The array to check.

        Raises
        ------
        ValueError
            If the array is incompatible; the message is shown to the client,
            so say what is expected (e.g. "expected shape (n, 4), got (3, 5)").
        """
