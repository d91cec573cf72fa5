"""A differentially private linear regression (diffprivlib) for a regression
challenge, one or several outputs: by default the glucose curves of
``anomed-anonymizer emulate-challenge --task regression``.

``anonymizer`` is the unfitted :class:`PublicBoundsLinearRegression` (audit
it with ``anomed-anonymizer audit
anomed_anonymizer.examples.dp_linear_regression:anonymizer``); ``application``
serves it (``anomed-anonymizer serve
anomed_anonymizer.examples.dp_linear_regression:application``).

diffprivlib's ``LinearRegression`` perturbs the regression's objective
(the functional mechanism): its noise does not shrink with the data, the
signal does. Measured on the glucose generator (12 outputs, features scaled
by the public bounds below, 8 fits each, secret noise): with 28,000 training
rows, ε = 10 gives an MSE of 380 to 1,800 mg²/dl² (the constant predictor:
954), while ε = 3 or less, and the embedded dataset's 840 rows at any of
these ε, give useless predictions (MSE above 10⁸). DP-SGD
(:class:`~anomed_anonymizer.TorchWrapper` with ``dp=DPSGD(...)``) does far
better on small data; this model is the baseline a DP regression has to beat.

Environment, all optional: ``CHALLENGE_HOST`` (host:port, default
``localhost:8001``), ``ANOMED_EPSILON`` (default 3.0; δ = 0),
``ANOMED_FEATURE_BOUNDS`` (JSON ``[[lower...], [upper...]]``) and
``ANOMED_TARGET_BOUNDS`` (JSON ``[lower, upper]``): the public bounds of the
features and of every output, by default those of the glucose curves
(:data:`~anomed_anonymizer.emulator.glucose.GLUCOSE_FEATURE_BOUNDS`). They
must be public: bounds taken from the private data would leak what the
budget does not pay for. ``ANOMED_MODEL_FILE`` (default ``anonymizer.pkl``).
"""

from __future__ import annotations

import json
import os

import numpy as np

import anomed_anonymizer as anon
from anomed_anonymizer.emulator.glucose import (
    GLUCOSE_FEATURE_BOUNDS,
    GLUCOSE_TARGET_BOUNDS,
)


class PublicBoundsLinearRegression:
    """diffprivlib's ``LinearRegression`` on features scaled to [0, 1] by
    public bounds (scaling conditions its noisy objective; clipping to the
    bounds is what makes the sensitivity hold).

    Parameters
    ----------
    epsilon : float
        The budget of the fit (pure ε-DP, δ = 0).
    feature_bounds : tuple of sequences
        Public ``(lower, upper)`` per feature.
    target_bounds : tuple of float
        Public ``(lower, upper)`` of every output.
    """

    def __init__(self, epsilon, feature_bounds, target_bounds) -> None:
        self.epsilon = float(epsilon)
        self.lower, self.upper = (
            np.asarray(b, dtype=np.float64) for b in feature_bounds
        )
        if self.lower.shape != self.upper.shape or np.any(self.upper <= self.lower):
            raise ValueError(
                "feature bounds must be two equally long lists with every upper "
                f"bound above its lower one, got {feature_bounds!r}"
            )
        self.target_bounds = tuple(float(b) for b in target_bounds)
        self.model_ = None

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.lower):
            raise ValueError(
                f"expected features of shape (n, {len(self.lower)}) (one per public "
                f"bound), got {X.shape}"
            )
        return (np.clip(X, self.lower, self.upper) - self.lower) / (
            self.upper - self.lower
        )

    def validate_input(self, X: np.ndarray) -> None:
        """Raise ``ValueError`` unless ``X`` is float64 with a column per bound."""
        if X.dtype != np.float64:
            raise ValueError(f"features must be float64, got {X.dtype}")
        self._scaled(X)

    def fit(self, X: np.ndarray, y: np.ndarray) -> PublicBoundsLinearRegression:
        """Fit on ``X`` and targets ``y`` of shape (n,) or (n, k)."""
        from diffprivlib.models import LinearRegression

        width = len(self.lower)
        model = LinearRegression(
            epsilon=self.epsilon,
            bounds_X=(np.zeros(width), np.ones(width)),
            bounds_y=self.target_bounds,
        )
        y = np.clip(np.asarray(y, dtype=np.float64), *self.target_bounds)
        self.model_ = model.fit(self._scaled(X), y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Float64 predictions of the targets' shape."""
        if self.model_ is None:
            raise RuntimeError("fit the model before predicting")
        return np.asarray(self.model_.predict(self._scaled(X)), dtype=np.float64)

    def privacy_budget(self) -> anon.PrivacyBudget | None:
        """The budget diffprivlib accounted for the fit (``None`` unfitted)."""
        return None if self.model_ is None else anon.privacy_budget_of(self.model_)


def _bounds(variable: str, default):
    value = os.environ.get(variable)
    return json.loads(value) if value else default


anonymizer = PublicBoundsLinearRegression(
    epsilon=float(os.environ.get("ANOMED_EPSILON", "3.0")),
    feature_bounds=_bounds("ANOMED_FEATURE_BOUNDS", GLUCOSE_FEATURE_BOUNDS),
    target_bounds=_bounds("ANOMED_TARGET_BOUNDS", GLUCOSE_TARGET_BOUNDS),
)


hostname = os.environ.get("CHALLENGE_HOST", "localhost:8001")
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="dp_linear_regression",
    anonymizer_obj=anon.WrappedAnonymizer(
        anonymizer,
        serializer=anon.pickle_anonymizer,
        feature_array_validator=anonymizer.validate_input,
    ),
    model_filepath=os.environ.get("ANOMED_MODEL_FILE", "anonymizer.pkl"),
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
