"""Lifting existing models to :class:`SupervisedLearningAnonymizer`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .base import SupervisedLearningAnonymizer
from .batching import batch_views

__all__ = ["TFKerasWrapper", "WrappedAnonymizer"]


class WrappedAnonymizer(SupervisedLearningAnonymizer):
    """Lift any object with ``fit(X, y)`` and ``predict(X)`` to an anonymizer.

    Parameters
    ----------
    anonymizer : Any
        The model. It needs ``fit(X, y)`` and ``predict(X)`` or
        ``predict(X, batch_size)``. Without a ``batch_size`` parameter, the
        wrapper batches itself.
    serializer : Callable[[Any, str | pathlib.Path], None] | None, optional
        Used by :meth:`save` when the model has no ``save`` method. It is called
        with the *wrapper* and the file path, so that the matching loader
        (e.g. :func:`unpickle_anonymizer`) restores the wrapper.
    feature_array_validator : Callable[[numpy.ndarray], None] | None, optional
        Used by :meth:`validate_input` when the model has no ``validate_input``
        method. It raises ``ValueError`` for arrays the model cannot take.

    Raises
    ------
    NotImplementedError
        If ``anonymizer`` lacks ``fit`` or ``predict``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.naive_bayes import GaussianNB
    >>> model = WrappedAnonymizer(GaussianNB())
    >>> model.fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    >>> model.predict(np.array([[0.1], [0.9], [1.0]]), batch_size=2).tolist()
    [0, 1, 1]
    """

    def __init__(
        self,
        anonymizer: Any,
        serializer: Callable[[Any, str | Path], None] | None = None,
        feature_array_validator: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        for method in ("fit", "predict"):
            if not callable(getattr(anonymizer, method, None)):
                raise NotImplementedError(
                    f"{type(anonymizer).__name__} has no {method}() method; "
                    "WrappedAnonymizer needs fit(X, y) and predict(X)."
                )
        self._anonymizer = anonymizer
        self._serialize = serializer
        self._validate = feature_array_validator

    @property
    def wrapped(self) -> Any:
        """The wrapped model."""
        return self._anonymizer

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit the wrapped model on ``X`` and ``y``."""
        self._anonymizer.fit(X, y)

    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Predict with the wrapped model, in batches of ``batch_size`` rows.

        If the model's ``predict`` takes ``batch_size``, it is passed through;
        otherwise the wrapper splits ``X`` and concatenates the results.
        """
        if self._predict_takes_batch_size():
            return self._anonymizer.predict(X, batch_size=batch_size)
        batches = batch_views(X, batch_size)
        first = np.asarray(self._anonymizer.predict(batches[0]))
        if len(batches) == 1:
            return first
        return _gathered(first, batches, self._anonymizer.predict, len(X))

    def _predict_takes_batch_size(self) -> bool:
        # inspect.signature costs more than a small prediction: ask once.
        cached = self.__dict__.get("_batch_size_param")
        if cached is None:
            cached = _accepts_batch_size(self._anonymizer.predict)
            self._batch_size_param = cached
        return cached

    def save(self, filepath: str | Path) -> None:
        """Save with the model's own ``save``, else with ``serializer``.

        Raises
        ------
        NotImplementedError
            If neither exists.
        """
        if callable(getattr(self._anonymizer, "save", None)):
            self._anonymizer.save(filepath)
        elif self._serialize is not None:
            self._serialize(self, filepath)
        else:
            raise NotImplementedError(
                f"{type(self._anonymizer).__name__} has no save() method and no "
                "serializer was given; pass serializer=anomed_anonymizer."
                "pickle_anonymizer to WrappedAnonymizer."
            )

    def validate_input(self, feature_array: np.ndarray) -> None:
        """Validate with the model's own ``validate_input``, else the validator.

        Raises
        ------
        ValueError
            If the array is rejected.
        NotImplementedError
            If neither exists.
        """
        if callable(getattr(self._anonymizer, "validate_input", None)):
            self._anonymizer.validate_input(feature_array)
        elif self._validate is not None:
            self._validate(feature_array)
        else:
            raise NotImplementedError(
                f"{type(self._anonymizer).__name__} has no validate_input() method "
                "and no feature_array_validator was given; pass one to "
                "WrappedAnonymizer."
            )


def _gathered(
    first: np.ndarray,
    batches: list[np.ndarray],
    predict: Any,
    n_rows: int,
) -> np.ndarray:
    """The predictions of all ``batches``, written batch by batch into one
    array (a list of them and its concatenation would hold the prediction
    twice). Where a batch does not fit the first one's shape or dtype, the
    rest is concatenated, which promotes dtypes and reports shapes as
    ``np.concatenate`` does."""
    if first.ndim == 0 or len(first) != len(batches[0]):
        return np.concatenate([first, *(np.asarray(predict(b)) for b in batches[1:])])
    gathered = np.empty((n_rows, *first.shape[1:]), dtype=first.dtype)
    gathered[: len(first)] = first
    start = len(first)
    for index, batch in enumerate(batches[1:], start=1):
        prediction = np.asarray(predict(batch))
        fits = (
            prediction.shape == (len(batch), *first.shape[1:])
            and prediction.dtype == first.dtype
        )
        if not fits:
            rest = [np.asarray(predict(b)) for b in batches[index + 1 :]]
            return np.concatenate([gathered[:start], prediction, *rest])
        gathered[start : start + len(batch)] = prediction
        start += len(batch)
    return gathered


def _accepts_batch_size(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return "batch_size" in parameters


class TFKerasWrapper(SupervisedLearningAnonymizer):
    """Lift a *compiled* Keras model to an anonymizer.

    Parameters
    ----------
    tfkeras_model : Any
        A compiled ``keras.Model`` (tf.keras or Keras 3).
    feature_array_validator : Callable[[numpy.ndarray], None]
        Used by :meth:`validate_input`.
    **kwargs : Any
        Passed to ``tfkeras_model.fit`` (e.g. ``epochs=10, verbose=0``); do
        not set ``x`` or ``y``.

    Notes
    -----
    Load the saved model with ``keras.models.load_model`` and wrap it again;
    Keras 3 requires ``model_filepath`` to end in ``.keras``.
    """

    def __init__(
        self,
        tfkeras_model: Any,
        feature_array_validator: Callable[[np.ndarray], None],
        **kwargs: Any,
    ) -> None:
        for reserved in ("x", "y"):
            if reserved in kwargs:
                raise ValueError(
                    f"do not pass {reserved!r} to TFKerasWrapper: the server "
                    "supplies the training data"
                )
        self._model = tfkeras_model
        self._feature_array_validator = feature_array_validator
        self._additional_fit_params = kwargs

    @property
    def model(self) -> Any:
        """The wrapped Keras model."""
        return self._model

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit the Keras model with the keyword arguments given at construction."""
        self._model.fit(x=X, y=y, **self._additional_fit_params)

    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Predict with the Keras model (quietly)."""
        return np.asarray(self._model.predict(x=X, batch_size=batch_size, verbose=0))

    def save(self, filepath: str | Path) -> None:
        """Save the Keras model to ``filepath``."""
        self._model.save(filepath)

    def validate_input(self, feature_array: np.ndarray) -> None:
        """Validate with the given validator."""
        self._feature_array_validator(feature_array)
