"""An ART classifier whose predictions come from an anonymizer's ``/predict``."""

from __future__ import annotations

import numpy as np
from art.estimators import BaseEstimator
from art.estimators.classification import ClassifierMixin

from ..wire import ChallengeClient, ChallengeProtocolError

__all__ = ["RemoteClassifier"]


class RemoteClassifier(ClassifierMixin, BaseEstimator):
    """Queries ``POST /predict`` of an anonymizer server, for ART's attacks.

    Label predictions (one integer per row) are one-hot encoded, so that the
    attack sees the shape of a classifier's output.

    Parameters
    ----------
    predict_url : str
        ``http://HOST/predict`` of the anonymizer under audit.
    input_shape : tuple[int, ...]
        Shape of one sample.
    nb_classes : int
        Number of classes the anonymizer predicts.
    timeout : float, optional
        Seconds to wait for each answer, by default 60.
    """

    estimator_params = ()

    def __init__(
        self,
        predict_url: str,
        input_shape: tuple[int, ...],
        nb_classes: int,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(model=None, clip_values=None)
        self.predict_url = predict_url
        self._input_shape = tuple(input_shape)
        self.nb_classes = nb_classes
        self._client = ChallengeClient(download_timeout=timeout, upload_timeout=timeout)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    def predict(self, x: np.ndarray, **kwargs) -> np.ndarray:
        """Predict via HTTP; labels come back one-hot as float32."""
        answer = self._client.exchange_named_arrays(
            self.predict_url, {"X": np.asarray(x)}, required=("prediction",)
        )
        prediction = np.asarray(answer["prediction"])
        if prediction.ndim == 1:
            labels = prediction.astype(np.int64)
            outside = (labels < 0) | (labels >= self.nb_classes)
            if outside.any():
                raise ChallengeProtocolError(
                    f"{self.predict_url} predicted labels outside "
                    f"0..{self.nb_classes - 1}",
                    self.predict_url,
                )
            return np.eye(self.nb_classes, dtype=np.float32)[labels]
        return prediction.astype(np.float32)

    def fit(self, x, y, **kwargs):  # pragma: no cover - black box
        raise NotImplementedError("a remote anonymizer is fitted by its own server")

    def get_activations(self, *args, **kwargs):  # pragma: no cover
        raise NotImplementedError

    def loss_gradient(self, *args, **kwargs):  # pragma: no cover
        raise NotImplementedError
