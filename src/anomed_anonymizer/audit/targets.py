"""What an attack can ask the model under audit.

Label-only attacks need a *predictor*: features in, one label per row out,
either from a fitted anonymizer in this process or from a served
``/predict``. Score-based attacks need the probability the model gives each
sample's true label, which only an anonymizer whose model has
``predict_proba`` or ``decision_function`` can tell.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from ..wire import ChallengeClient, ChallengeProtocolError
from ..wire.predict import remote_predict

__all__ = [
    "Predictor",
    "RemotePredictor",
    "fit_copy",
    "probability_model",
    "true_label_probability",
]

#: Features in, one predicted label per row out.
Predictor = Callable[[np.ndarray], np.ndarray]


class RemotePredictor:
    """Labels from a served anonymizer's ``POST /predict``.

    Parameters
    ----------
    predict_url : str
        ``http://HOST/predict`` of the anonymizer under audit.
    timeout : float, optional
        Seconds to wait for each answer.
    multi_output : bool, optional
        Accept ``(rows, outputs)`` answers too (a regressor's curves), not
        only one value per row.

    Examples
    --------
    >>> RemotePredictor("http://127.0.0.1:8000/predict").predict_url
    'http://127.0.0.1:8000/predict'
    """

    def __init__(
        self, predict_url: str, timeout: float = 60.0, multi_output: bool = False
    ) -> None:
        self.predict_url = predict_url
        self.timeout = timeout
        self.multi_output = multi_output
        self._client = ChallengeClient(download_timeout=timeout, upload_timeout=timeout)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Predict ``X`` in requests of at most a few MiB each
        (:func:`~anomed_anonymizer.wire.predict.remote_predict`).

        Raises
        ------
        ChallengeError
            If ``/predict`` fails or answers something other than one label
            per row.
        """
        X = np.asarray(X)
        prediction = remote_predict(self.predict_url, X, client=self._client)
        if len(X) == 0:
            return np.empty(0)
        if self.multi_output and prediction.ndim == 2:
            return prediction
        if prediction.ndim != 1:
            raise ChallengeProtocolError(
                f"{self.predict_url} answered {len(X)} rows with a prediction of "
                f"shape {prediction.shape}; the label-only audit needs one label "
                "per row (return class labels, not probabilities)",
                self.predict_url,
            )
        return prediction


def fit_copy(anonymizer: Any, X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """Fit a deep copy of ``anonymizer`` on ``(X, y)``, the original untouched.

    So that an audit repeats exactly and its models draw independent noise,
    the copy's estimator (itself, or the model a ``WrappedAnonymizer`` wraps)
    gets ``random_state=seed`` where it has that parameter unset (diffprivlib
    then draws from NumPy instead of the OS's secure source); a
    ``random_state`` the user set is kept. NumPy's global random state is
    also seeded for the fit, and restored after.
    """
    try:
        model = copy.deepcopy(anonymizer)
    except Exception as exc:
        raise TypeError(
            f"the audit trains a deep copy of the anonymizer for every model, but "
            f"{type(anonymizer).__name__} cannot be deep-copied "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    for candidate in (model, getattr(model, "wrapped", None)):
        _seed_if_unset(candidate, seed % 2**32)
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        model.fit(X, y)
    finally:
        np.random.set_state(state)
    return model


def _seed_if_unset(estimator: Any, seed: int) -> None:
    get_params = getattr(estimator, "get_params", None)
    if not callable(get_params):
        return
    try:
        unset = get_params(deep=False).get("random_state", False) is None
    except Exception:  # not a scikit-learn style estimator after all
        return
    if unset:
        estimator.set_params(random_state=seed)


def probability_model(anonymizer: Any) -> Any | None:
    """The object whose ``predict_proba``/``decision_function`` scores samples.

    The anonymizer itself, or the model it wraps (``WrappedAnonymizer.wrapped``);
    ``None`` if neither has one.
    """
    candidates = [anonymizer, getattr(anonymizer, "wrapped", None)]
    for candidate in candidates:
        if candidate is None:
            continue
        if callable(getattr(candidate, "predict_proba", None)) or callable(
            getattr(candidate, "decision_function", None)
        ):
            return candidate
    return None


def true_label_probability(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The probability ``model`` gives each row's true label.

    ``model`` is a fitted anonymizer; its probabilities come from
    :func:`probability_model`. Columns are matched to labels through the
    model's ``classes_`` (so a model that never saw a class gives it 0);
    ``decision_function`` values are turned into probabilities by a softmax
    (a sigmoid for one column).
    """
    scorer = probability_model(model)
    if scorer is None:
        raise TypeError(
            f"{type(model).__name__} has neither predict_proba nor decision_function"
        )
    if callable(getattr(scorer, "predict_proba", None)):
        proba = np.asarray(scorer.predict_proba(X), dtype=np.float64)
    else:
        proba = _softmax(np.asarray(scorer.decision_function(X), dtype=np.float64))
    classes = getattr(scorer, "classes_", None)
    if classes is None:
        classes = np.arange(proba.shape[1])
    classes = np.asarray(classes)
    column = {label: i for i, label in enumerate(classes.tolist())}
    index = np.array([column.get(label, -1) for label in np.asarray(y).tolist()])
    picked = proba[np.arange(len(y)), np.maximum(index, 0)]
    return np.clip(np.where(index >= 0, picked, 0.0), 0.0, 1.0)


def _softmax(scores: np.ndarray) -> np.ndarray:
    if scores.ndim == 1:
        positive = 1.0 / (1.0 + np.exp(-scores))
        return np.column_stack((1.0 - positive, positive))
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
