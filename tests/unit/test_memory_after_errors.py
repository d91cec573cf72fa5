"""A failed request frees what it allocated as soon as it is answered.

An exception kept in a reference cycle (its traceback holds the frames that
hold the request's arrays) lives until the next garbage collection, which may
be long after the answer: these tests switch the collector off and check
that the request's arrays are gone by reference counting alone.
"""

from __future__ import annotations

import gc
import weakref

import falcon.testing
import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon
from anomed_anonymizer.wire import encode_named_arrays

SEEN: list[weakref.ref] = []


def remember_and_reject(X: np.ndarray) -> None:
    SEEN.append(weakref.ref(X))
    if np.isnan(X).any():
        raise ValueError("X holds a NaN")


class CrashingNB(GaussianNB):
    def predict(self, X):
        SEEN.append(weakref.ref(X))
        raise RuntimeError("model crashed")


class PickyNB(GaussianNB):
    def predict(self, X):
        SEEN.append(weakref.ref(X))
        raise ValueError("feature out of range")


@pytest.fixture
def collector_off():
    SEEN.clear()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _client(fake_challenge, tmp_path, estimator):
    model = anon.WrappedAnonymizer(
        estimator,
        serializer=anon.pickle_anonymizer,
        feature_array_validator=remember_and_reject,
    )
    app = anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="memory",
        anonymizer_obj=model,
        model_filepath=tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{fake_challenge.url}/data/anonymizer/training",
        tuning_data_url=f"{fake_challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{fake_challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{fake_challenge.url}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )
    client = falcon.testing.TestClient(app)
    assert client.simulate_post("/fit").status_code == 201
    return client


@pytest.mark.parametrize(
    ("estimator", "poison", "status"),
    [
        (GaussianNB(), True, 400),  # the validator rejects X
        (PickyNB(), False, 400),  # predict raises ValueError
        (CrashingNB(), False, 500),  # predict crashes
    ],
    ids=["validator-rejects", "model-value-error", "model-crash"],
)
def test_a_failed_predict_frees_its_arrays_without_a_collection(
    fake_challenge, tmp_path, estimator, poison, status, collector_off
):
    client = _client(fake_challenge, tmp_path, estimator)
    X = np.random.default_rng(0).uniform(0, 5, size=(20_000, 4))
    if poison:
        X[123, 2] = np.nan
    body = encode_named_arrays({"X": X})
    del X
    SEEN.clear()
    result = client.simulate_post("/predict", body=body)
    assert result.status_code == status, result.text
    assert SEEN, "the request never reached the anonymizer"
    assert all(ref() is None for ref in SEEN), "the request's X is still alive"
