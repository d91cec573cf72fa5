"""The model of ``dp_predict_app.py``, importable without a challenge (the
in-process limit of ``bench_serving.py`` unpickles it)."""

import numpy as np
from diffprivlib.models import LogisticRegression

import anomed_anonymizer as anon

FEATURES = 30


def validate(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2 or feature_array.shape[1] != FEATURES:
        raise ValueError(f"expected shape (n_samples, {FEATURES})")
    if feature_array.dtype != np.float64:
        raise ValueError("expected float64")


def make_anonymizer() -> anon.WrappedAnonymizer:
    return anon.WrappedAnonymizer(
        LogisticRegression(epsilon=1.0, data_norm=8.0, random_state=0),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    )
