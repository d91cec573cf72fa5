"""Lifting existing models to :class:`SupervisedLearningAnonymizer`."""

from __future__ import annotations

import contextlib
import inspect
import json
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._targets import check_regression_targets
from .base import SupervisedLearningAnonymizer
from .batching import batch_views

__all__ = ["TFKerasWrapper", "WrappedAnonymizer", "check_servable"]


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
    TypeError
        If ``serializer`` or ``feature_array_validator`` is given but not
        callable.

    Notes
    -----
    Both replacements are optional here (upstream's signature), but a server
    needs to save and to validate: the app factory refuses a wrapper that can
    do neither, before anything is trained (see :func:`check_servable`).

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
        for argument, value in (
            ("serializer", serializer),
            ("feature_array_validator", feature_array_validator),
        ):
            if value is not None and not callable(value):
                raise TypeError(
                    f"{argument} must be a function, got {type(value).__name__}"
                    + (
                        "; e.g. serializer=anomed_anonymizer.pickle_anonymizer"
                        if argument == "serializer"
                        else ""
                    )
                )
        self._anonymizer = anonymizer
        self._serialize = serializer
        self._validate = feature_array_validator

    @property
    def wrapped(self) -> Any:
        """The wrapped model."""
        return self._anonymizer

    @property
    def can_save(self) -> bool:
        """Whether :meth:`save` has something to save with."""
        return callable(getattr(self._anonymizer, "save", None)) or (
            self._serialize is not None
        )

    @property
    def can_validate(self) -> bool:
        """Whether :meth:`validate_input` has something to validate with."""
        return callable(getattr(self._anonymizer, "validate_input", None)) or (
            self._validate is not None
        )

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit the wrapped model on ``X`` and ``y``.

        A diffprivlib model that takes a parameter from the data instead of
        the budget (``bounds=None``, ``data_norm=None``, ``classes=None``)
        warns with a ``PrivacyLeakWarning``: the warnings are passed on and
        also kept on the model (``anomed_privacy_leaks_``), so that its
        served budget says the ε does not hold.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._anonymizer.fit(X, y)
        leaks = [
            str(warning.message)
            for warning in caught
            if warning.category.__name__ == "PrivacyLeakWarning"
        ]
        # An object that takes no attributes keeps nothing (and warned anyway).
        with contextlib.suppress(AttributeError):
            self._anonymizer.anomed_privacy_leaks_ = list(dict.fromkeys(leaks))
        for warning in caught:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )

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


_KERAS_TASKS = ("auto", "classification", "regression")

#: The entry a regressor's ``.keras`` file (a zip archive) gets beside Keras's
#: own, which Keras ignores on loading; :meth:`TFKerasWrapper.load` reads it.
_KERAS_METADATA = "anomed_anonymizer.json"


class TFKerasWrapper(SupervisedLearningAnonymizer):
    """Lift a *compiled* Keras model to an anonymizer: a classifier, or a
    regressor of one or several outputs.

    Parameters
    ----------
    tfkeras_model : Any
        A compiled ``keras.Model`` (tf.keras or Keras 3), with the loss of its
        task (e.g. ``"sparse_categorical_crossentropy"`` or ``"mse"``).
    feature_array_validator : Callable[[numpy.ndarray], None]
        Used by :meth:`validate_input`.
    predict_labels : bool, optional
        Make :meth:`predict` return class labels instead of the model's
        outputs: the index of the largest output (``argmax`` over the last
        axis), or ``output >= 0.5`` for a model with one sigmoid output, as
        ``label_dtype``. A classifier needs this: AnoMed challenges score
        predictions only if they have the dtype of their labels. By default
        ``False`` (the raw outputs, as upstream). Not for a regressor.
    label_dtype : numpy.typing.DTypeLike, optional
        The dtype of the labels ``predict_labels`` returns; by default
        ``int64``, the dtype of the integer targets AnoMed challenges serve.
        :meth:`fit` refuses training labels of another dtype, saying which to
        pass.
    task : {"auto", "classification", "regression"}, optional
        ``"auto"`` (default) regresses float ``y`` and classifies integer,
        boolean and string ``y`` (and any ``y`` if ``predict_labels`` is
        set); ``"regression"`` also takes integer ``y`` as numbers. A
        classifier behaves as upstream; a regressor takes targets of shape
        ``(n,)`` or ``(n, k)``, needs a model whose output has width 1 or
        ``k``, and :meth:`predict` returns float64 of the targets' shape.
    **kwargs : Any
        Passed to ``tfkeras_model.fit`` (e.g. ``epochs=10, verbose=0``); do
        not set ``x`` or ``y``.

    Attributes
    ----------
    task_ : str | None
        ``"classification"`` or ``"regression"``, what the fit did (or what
        :meth:`load` read); ``None`` before.
    target_shape_ : tuple[int, ...] | None
        A regressor's target shape per row: ``()`` for ``y`` of shape
        ``(n,)``, ``(k,)`` for ``(n, k)``.

    Raises
    ------
    TypeError
        If ``feature_array_validator`` is not callable.
    ValueError
        If ``kwargs`` sets ``x`` or ``y``, ``task`` is unknown, or
        ``task="regression"`` comes with ``predict_labels=True``.

    Notes
    -----
    Load the saved model with ``keras.models.load_model`` and wrap it again
    with the same options, or with :meth:`load`, which also restores a
    regressor's target shape; Keras 3 requires ``model_filepath`` to end in
    ``.keras`` (the app factory checks this before training).

    Examples
    --------
    A regressor of 3 targets (e.g. the emulator's ``linnerud``), compiled with
    ``model.compile(optimizer="adam", loss="mse")`` and a last layer
    ``keras.layers.Dense(3)``, is ``TFKerasWrapper(model, validate)``: a fit
    on float ``y`` of shape ``(n, 3)`` regresses, and ``predict(X)`` returns
    float64 of shape ``(len(X), 3)``.

    >>> TFKerasWrapper(None, print, task="regression").task
    'regression'
    """

    def __init__(
        self,
        tfkeras_model: Any,
        feature_array_validator: Callable[[np.ndarray], None],
        *,
        predict_labels: bool = False,
        label_dtype: npt.DTypeLike = np.int64,
        task: str = "auto",
        **kwargs: Any,
    ) -> None:
        if not callable(feature_array_validator):
            raise TypeError(
                "feature_array_validator must be a function that raises "
                "ValueError for arrays the model cannot take, got "
                f"{type(feature_array_validator).__name__}"
            )
        for reserved in ("x", "y"):
            if reserved in kwargs:
                raise ValueError(
                    f"do not pass {reserved!r} to TFKerasWrapper: the server "
                    "supplies the training data"
                )
        if task not in _KERAS_TASKS:
            raise ValueError(
                f"task must be one of {', '.join(_KERAS_TASKS)}, got {task!r}"
            )
        if task == "regression" and predict_labels:
            raise ValueError(
                'predict_labels=True needs a classifier: a regressor (task="'
                'regression") predicts the targets, so leave predict_labels=False'
            )
        self._model = tfkeras_model
        self._feature_array_validator = feature_array_validator
        self._predict_labels = bool(predict_labels)
        self._label_dtype = np.dtype(label_dtype)
        self._additional_fit_params = kwargs
        self.task = task
        self.task_: str | None = None
        self.target_shape_: tuple[int, ...] | None = None

    @property
    def model(self) -> Any:
        """The wrapped Keras model."""
        return self._model

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit the Keras model with the keyword arguments given at construction.

        Parameters
        ----------
        X : numpy.ndarray
            Features, one row per sample.
        y : numpy.ndarray
            Labels; or regression targets, shape ``(n,)`` or ``(n, k)``, real
            numbers (see ``task``), passed to Keras in that shape.

        Raises
        ------
        ValueError
            If ``predict_labels`` is set and ``y`` is not of ``label_dtype``
            (the predictions would be refused by the challenge); for a
            regressor, if ``y`` is not of shape ``(n,)`` or ``(n, k)``, not
            real or not finite, or the model's output is not of width ``k``
            (1 for ``(n,)``).
        """
        y = np.asarray(y)
        task = self.task
        if task == "auto":
            regress = y.dtype.kind == "f" and not self._predict_labels
            task = "regression" if regress else "classification"
        if task == "classification":
            if self._predict_labels and y.dtype != self._label_dtype:
                raise ValueError(
                    f"the training labels have dtype {y.dtype} but label_dtype is "
                    f"{self._label_dtype}: pass label_dtype=numpy.{y.dtype} to "
                    "TFKerasWrapper (and to the one your model_loader builds), so "
                    "that predictions have the challenge's dtype"
                )
            self._model.fit(x=X, y=y, **self._additional_fit_params)
            self.task_, self.target_shape_ = "classification", None
            return
        X = np.asarray(X)
        y = _check_keras_targets(y, len(X))
        target_shape = tuple(y.shape[1:])
        self._check_output_width(X, target_shape)
        self._model.fit(x=X, y=y, **self._additional_fit_params)
        self.task_, self.target_shape_ = "regression", target_shape

    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Predict with the Keras model (quietly): its outputs, or class labels
        of ``label_dtype`` if ``predict_labels`` was set; a regressor's
        float64 of the targets' shape ``(n,)`` or ``(n, k)``.

        Raises
        ------
        ValueError
            For a regressor whose model's output does not fit the targets'
            shape.
        """
        output = np.asarray(self._model.predict(x=X, batch_size=batch_size, verbose=0))
        if self._is_regressor():
            return self._regression_output(output)
        if not self._predict_labels:
            return output
        if output.ndim >= 2 and output.shape[-1] > 1:
            labels = np.argmax(output, axis=-1)
        else:
            labels = output.reshape(len(output), -1)[:, 0] >= 0.5
        return labels.astype(self._label_dtype)

    def _is_regressor(self) -> bool:
        return (self.task_ or self.task) == "regression"

    def _regression_output(self, output: np.ndarray) -> np.ndarray:
        """The model's ``output`` as float64 of shape ``(n, *target_shape_)``;
        without a known target shape (a model wrapped again after loading):
        ``(n,)`` for width 1, else ``(n, k)``."""
        n = len(output)
        width = int(np.prod(output.shape[1:], dtype=np.int64))
        shape = self.target_shape_
        if shape is None:
            shape = () if width == 1 else (width,)
        if output.ndim > 2 or width != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(
                f"the Keras model outputs shape {output.shape}, which does not fit "
                f"regression targets of shape ({n}, {', '.join(map(str, shape))})"
                f"{'' if shape else ' i.e. (n,)'}: its last layer needs "
                f"{max(1, int(np.prod(shape, dtype=np.int64)))} unit(s)"
            )
        return output.astype(np.float64, copy=False).reshape(n, *shape)

    def _check_output_width(self, X: np.ndarray, target_shape: tuple[int, ...]) -> None:
        """Raise ``ValueError`` unless the model's output has width ``k``."""
        k = target_shape[0] if target_shape else 1
        try:
            output_shape = tuple(self._model.output_shape)
        except (AttributeError, ValueError, TypeError, RuntimeError):
            # not built (or several outputs): ask the model itself
            output_shape = _output_shape(self._model.predict(x=X[:1], verbose=0))
        if (
            not output_shape
            or not all(isinstance(d, int) or d is None for d in output_shape)
            or len(output_shape) > 2
        ):
            raise ValueError(
                f"a Keras regressor needs one output tensor of shape (n, {k}); "
                f"the model's output is {output_shape}"
            )
        width = output_shape[1] if len(output_shape) == 2 else 1
        if width != k:
            raise ValueError(
                f"the Keras model's output has width {width}, but the regression "
                f"targets y have {k} column(s) (shape (n{', ' if target_shape else ''}"
                f"{', '.join(map(str, target_shape))})): end the model in a layer "
                f"of {k} unit(s), e.g. keras.layers.Dense({k})"
                + (
                    "; or, if y holds class labels, pass task='classification'"
                    if self.task == "auto"
                    else ""
                )
            )

    def save(self, filepath: str | Path) -> None:
        """Save the Keras model to ``filepath``; a regressor's ``.keras`` file
        also records its task and target shape (an entry Keras ignores), which
        :meth:`load` reads."""
        self._model.save(filepath)
        if self.task_ == "regression" and zipfile.is_zipfile(filepath):
            metadata = {
                "format": 1,
                "task": "regression",
                "target_shape": list(self.target_shape_ or ()),
            }
            with zipfile.ZipFile(filepath, "a") as archive:
                archive.writestr(_KERAS_METADATA, json.dumps(metadata))

    @classmethod
    def load(
        cls,
        filepath: str | Path,
        feature_array_validator: Callable[[np.ndarray], None],
        **kwargs: Any,
    ) -> TFKerasWrapper:
        """Load a model :meth:`save` wrote (with ``keras.models.load_model``)
        and wrap it with ``kwargs`` (the constructor's options); a regressor
        comes back as one, with its target shape. Files without the
        wrapper's record (classifiers, files of earlier versions) load as
        ``TFKerasWrapper(keras.models.load_model(filepath), ...)``.

        Raises
        ------
        ValueError
            If the file holds a regressor but ``kwargs`` ask for a classifier
            (``task="classification"`` or ``predict_labels=True``).
        """
        import keras

        wrapper = cls(
            keras.models.load_model(filepath), feature_array_validator, **kwargs
        )
        metadata = _keras_metadata(filepath)
        if metadata.get("task") == "regression":
            if wrapper.task == "classification" or wrapper._predict_labels:
                raise ValueError(
                    f"{Path(filepath).name} holds a regressor, but the options ask "
                    "for a classifier: drop task='classification' and "
                    "predict_labels=True"
                )
            wrapper.task_ = "regression"
            wrapper.target_shape_ = tuple(int(d) for d in metadata["target_shape"])
        return wrapper

    def validate_input(self, feature_array: np.ndarray) -> None:
        """Validate with the given validator."""
        self._feature_array_validator(feature_array)

    def check_model_filepath(self, filepath: str | Path) -> None:
        """Raise ``ValueError`` if Keras would refuse to save to ``filepath``.

        Keras 3 saves only to ``.keras`` files (and, deprecated, ``.h5``).
        """
        if _keras_major(self._model) >= 3 and Path(filepath).suffix not in (
            ".keras",
            ".h5",
        ):
            raise ValueError(
                f"Keras 3 saves models only to files ending in .keras; "
                f"model_filepath {str(filepath)!r} does not: use e.g. "
                f"{Path(filepath).with_suffix('.keras').name!r}"
            )


def _check_keras_targets(y: np.ndarray, n: int) -> np.ndarray:
    """Regression targets ``y`` of shape ``(n,)`` or ``(n, k)``, as float."""
    y = check_regression_targets(y, n)
    return y if y.dtype.kind == "f" else y.astype(np.float64)


def _output_shape(output: Any) -> tuple[Any, ...]:
    """The shape of one Keras output (``()`` for several, e.g. a list)."""
    if isinstance(output, (list, tuple, dict)):
        return ()
    return (None, *np.shape(output)[1:])


def _keras_metadata(filepath: str | Path) -> dict[str, Any]:
    """The wrapper's record in a ``.keras`` file, ``{}`` if it has none."""
    if not zipfile.is_zipfile(filepath):
        return {}
    with zipfile.ZipFile(filepath) as archive:
        if _KERAS_METADATA not in archive.namelist():
            return {}
        return json.loads(archive.read(_KERAS_METADATA))


def _keras_major(model: Any) -> int:
    """Major version of the Keras that defined ``model``'s class (0 if unknown)."""
    top = type(model).__module__.split(".", 1)[0]
    version = getattr(sys.modules.get(top), "__version__", "0")
    try:
        return int(str(version).split(".", 1)[0])
    except ValueError:
        return 0


_SERVER_METHODS = ("fit", "predict", "save", "validate_input")


def check_servable(anonymizer: Any, model_filepath: str | Path) -> None:
    """Check, before anything is trained, that a server can fit, save, load and
    validate with ``anonymizer``.

    Parameters
    ----------
    anonymizer : Any
        What the app factory was given as ``anonymizer_obj``.
    model_filepath : str | pathlib.Path
        Where the fitted model will be saved.

    Raises
    ------
    TypeError
        If ``anonymizer`` lacks a method the server calls.
    ValueError
        If a :class:`WrappedAnonymizer` has no way to save or to validate, or
        Keras would refuse ``model_filepath``; the message says what to pass.
    """
    missing = [
        name
        for name in _SERVER_METHODS
        if not callable(getattr(anonymizer, name, None))
    ]
    if missing:
        raise TypeError(
            f"anonymizer_obj ({type(anonymizer).__name__}) lacks "
            f"{', '.join(f'{name}()' for name in missing)}: pass a "
            "SupervisedLearningAnonymizer, e.g. anomed_anonymizer.WrappedAnonymizer("
            "model, serializer=anomed_anonymizer.pickle_anonymizer, "
            "feature_array_validator=...)"
        )
    if isinstance(anonymizer, WrappedAnonymizer):
        model = type(anonymizer.wrapped).__name__
        if not anonymizer.can_save:
            raise ValueError(
                f"the WrappedAnonymizer cannot save: {model} has no save() method "
                "and no serializer was given; pass "
                "serializer=anomed_anonymizer.pickle_anonymizer (and "
                "model_loader=anomed_anonymizer.unpickle_anonymizer to the factory)"
            )
        if not anonymizer.can_validate:
            raise ValueError(
                f"the WrappedAnonymizer cannot validate /predict input: {model} has "
                "no validate_input() method and no feature_array_validator was "
                "given; pass feature_array_validator=<a function that raises "
                "ValueError for arrays of the wrong shape or dtype>"
            )
    if isinstance(anonymizer, TFKerasWrapper):
        anonymizer.check_model_filepath(model_filepath)
